import IngotCore

#if canImport(Glibc)
  import Glibc
#endif

/// What the pickle decoder builds: plain values, never live objects.
/// Lists and dicts are boxes because pickles mutate them after creation
/// (APPEND, SETITEM) through the memo.
indirect enum PickleValue {
  case none
  case bool(Bool)
  case int(Int64)
  case float(Double)
  case string(String)
  case tuple([PickleValue])
  case list(ListBox)
  case dict(DictBox)
  /// A global the allowlist knows, by "module.name".
  case global(String)
  /// A persistent id resolved to a storage.
  case storage(StorageRef)
  case tensor(TensorRef)
  case dtype(DType)
  case mark

  var typeName: String {
    switch self {
    case .none: "None"
    case .bool: "bool"
    case .int: "int"
    case .float: "float"
    case .string: "str"
    case .tuple: "tuple"
    case .list: "list"
    case .dict: "dict"
    case .global(let g): g
    case .storage: "storage"
    case .tensor: "tensor"
    case .dtype: "dtype"
    case .mark: "mark"
    }
  }
}

final class ListBox {
  var items: [PickleValue] = []
  deinit {
    var all: [PickleValue] = []
    swap(&all, &items)
    ReleaseQueue.release(&all)
  }
}

final class DictBox {
  var keys: [String] = []
  var values: [String: PickleValue] = [:]
  func set(_ key: String, _ value: PickleValue) {
    if values[key] == nil { keys.append(key) }
    values[key] = value
  }
  deinit {
    var all = Array(values.values)
    values = [:]
    ReleaseQueue.release(&all)
  }
}

/// Owns every box one decoder made. `clear()` (or the arena's deinit)
/// empties them all, which breaks any cycle the memo allowed; the boxes are
/// then freed one by one with nothing left inside.
final class PickleArena {
  var lists: [ListBox] = []
  var dicts: [DictBox] = []

  func list() -> ListBox {
    let b = ListBox()
    lists.append(b)
    return b
  }

  func dict() -> DictBox {
    let b = DictBox()
    dicts.append(b)
    return b
  }

  func clear() {
    for b in lists { b.items = [] }
    for b in dicts {
      b.values = [:]
      b.keys = []
    }
    lists = []
    dicts = []
  }

  deinit { clear() }
}

/// Frees nested lists and dicts iteratively. A pickle can chain a million
/// of them in a few bytes (APPEND into the list below, through the memo);
/// freed the ordinary way, each deinit would release the next from inside
/// itself until the stack overflows. Instead a dying box hands its items to
/// this thread's queue, and only the outermost deinit drains it, so each
/// nested deinit returns at once. Boxes still held elsewhere are never
/// touched: a deinit runs only when the last reference goes. (Tuples are
/// immutable and limited to maxPickleTupleDepth when built.)
final class ReleaseQueue {
  var pending: [PickleValue] = []
  var draining = false

  static let key: pthread_key_t = {
    var k = pthread_key_t()
    pthread_key_create(&k) { p in if let p { Unmanaged<ReleaseQueue>.fromOpaque(p).release() } }
    return k
  }()

  static var current: ReleaseQueue {
    if let p = pthread_getspecific(key) { return Unmanaged<ReleaseQueue>.fromOpaque(p).takeUnretainedValue() }
    let q = ReleaseQueue()
    pthread_setspecific(key, Unmanaged.passRetained(q).toOpaque())
    return q
  }

  static func release(_ values: inout [PickleValue]) {
    guard !values.isEmpty else { return }
    let q = current
    q.pending += values
    values = []
    guard !q.draining else { return }
    q.draining = true
    while !q.pending.isEmpty { _ = q.pending.removeLast() }
    q.draining = false
  }
}

struct StorageRef {
  var key: String
  var dtype: DType
  var numel: Int
}

struct TensorRef {
  var storage: StorageRef
  var offset: Int
  var shape: [Int]
  var stride: [Int]
  var dtype: DType
}
