#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// A pthread mutex, to keep Foundation out of this module.
public final class PThreadMutex: @unchecked Sendable {
  private var m = pthread_mutex_t()
  public init() { pthread_mutex_init(&m, nil) }
  deinit { pthread_mutex_destroy(&m) }
  public func locked<T>(_ body: () throws -> T) rethrows -> T {
    pthread_mutex_lock(&m)
    defer { pthread_mutex_unlock(&m) }
    return try body()
  }
}
