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
