import IngotCore

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
}

final class DictBox {
  var keys: [String] = []
  var values: [String: PickleValue] = [:]
  func set(_ key: String, _ value: PickleValue) {
    if values[key] == nil { keys.append(key) }
    values[key] = value
  }
}

/// Owns every list and dict one decoder made, until `clear()` (or the
/// arena's deinit) empties them all. A pickle can chain a million boxes in a
/// few bytes (APPEND into the list below, through the memo), or append a
/// list to itself: freed the ordinary way, the first would release box
/// after box from inside each deinit until the stack overflows, and the
/// second would leak. Emptied first, every box is freed on its own with
/// nothing inside. (Tuples are immutable and limited to maxPickleTupleDepth
/// when built, so freeing them recurses that deep at most.)
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
