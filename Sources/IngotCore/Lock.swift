#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// A pthread mutex: the one lock of the code base (Foundation stays out of
/// the core).
public final class Lock: @unchecked Sendable {
  private var m = pthread_mutex_t()
  public init() { pthread_mutex_init(&m, nil) }
  deinit { pthread_mutex_destroy(&m) }
  public func locked<T>(_ body: () throws -> T) rethrows -> T {
    pthread_mutex_lock(&m)
    defer { pthread_mutex_unlock(&m) }
    return try body()
  }
}

/// One result slot per unit of concurrent work (a chunk, a file, a row
/// range), each set once by its worker and read after the workers joined.
public final class Slots<Value>: @unchecked Sendable {
  // @unchecked: every access to `values` holds `lock`.
  private var values: [Value?]
  private let lock = Lock()

  public init(count: Int) { values = Array(repeating: nil, count: count) }

  public subscript(i: Int) -> Value? {
    get { lock.locked { values[i] } }
    set { lock.locked { values[i] = newValue } }
  }

  /// The lowest-index slot that is set, with its index.
  public var first: (Int, Value)? {
    lock.locked {
      for (i, v) in values.enumerated() { if let v { return (i, v) } }
      return nil
    }
  }
}
