import IngotCore

/// A pickle *decoder*: it reads the allowlisted opcodes of torch's own
/// weights-only loader into plain values and never imports or calls
/// anything. Globals outside a short list of torch rebuild functions,
/// storage types, dtypes and OrderedDict are refused by name.
struct PickleDecoder {
  static let storageTypes: [String: DType] = [
    "torch.FloatStorage": .f32, "torch.DoubleStorage": .f64, "torch.HalfStorage": .f16, "torch.BFloat16Storage": .bf16,
    "torch.LongStorage": .i64, "torch.IntStorage": .i32, "torch.ShortStorage": .i16, "torch.CharStorage": .i8,
    "torch.ByteStorage": .u8, "torch.BoolStorage": .bool,
  ]
  static let dtypes: [String: DType] = [
    "torch.float32": .f32, "torch.float": .f32, "torch.float64": .f64, "torch.double": .f64, "torch.float16": .f16,
    "torch.half": .f16, "torch.bfloat16": .bf16, "torch.int64": .i64, "torch.long": .i64, "torch.int32": .i32,
    "torch.int": .i32, "torch.int16": .i16, "torch.short": .i16, "torch.int8": .i8, "torch.uint8": .u8, "torch.bool": .bool,
    "torch.float8_e4m3fn": .f8_e4m3, "torch.float8_e5m2": .f8_e5m2,
  ]
  static let functions: Set<String> = [
    "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_parameter",
    "collections.OrderedDict", "torch.Size", "torch.UntypedStorage",
  ]
  static let maxStack = Limits.maxPickleStack
  static let maxMemo = Limits.maxPickleMemo
  /// Tuples inside tuples (torch's own pickles nest three or four deep).
  static let maxTupleDepth = Limits.maxPickleTupleDepth

  var cursor: ByteCursor
  let file: String
  /// "data.pkl" or "pickle 4 of 5": where errors point.
  var part: String
  var bytes: UnsafeRawBufferPointer { cursor.bytes }
  var position: Int {
    get { cursor.readerIndex }
    set { cursor.readerIndex = min(max(newValue, 0), cursor.end) }
  }
  /// Every storage a persistent id named, by key (legacy files need their
  /// element sizes to find the storages that follow the pickles).
  var storages: [String: StorageRef] = [:]
  /// Every list and dict this decoder built, emptied when the values are
  /// no longer needed (a pickle can append a list to itself: a cycle that
  /// reference counting alone would leak).
  let arena = PickleArena()

  init(bytes: UnsafeRawBufferPointer, file: String, part: String) {
    cursor = ByteCursor(bytes)
    self.file = file
    self.part = part
  }

  /// A pickle whose structure is wrong (as opposed to one that asks for
  /// something refused): where it went wrong and why.
  func fail(_ reason: String) -> PyTorchError { .malformed(file: file, part: part, offset: position, reason: reason) }

  func short(_ e: ByteCursor.Short) -> PyTorchError { .truncated(file: file, part: part, offset: e.offset, needed: e.needed) }

  /// Decodes one pickle, from `position` to its STOP; `position` ends after it.
  mutating func decode() throws(PyTorchError) -> PickleValue {
    var stack: [PickleValue] = []
    // How deeply tuples nest in each stack entry and memo slot: tuples are
    // immutable, so this is exact, and it bounds the recursion of freeing them.
    var levels: [Int] = []
    var memoLevels: [Int: Int] = [:]
    var popped = 0
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]

    func u8() throws(PyTorchError) -> Int {
      do { return Int(try cursor.takeByte()) } catch { throw short(error) }
    }
    func le<T: FixedWidthInteger>(_ t: T.Type) throws(PyTorchError) -> T {
      do { return try cursor.takeInteger(endianness: .little, as: T.self) } catch { throw short(error) }
    }
    func take(_ n: Int) throws(PyTorchError) -> UnsafeRawBufferPointer {
      do { return try cursor.takeSlice(length: n) } catch { throw short(error) }
    }
    func pop() throws(PyTorchError) -> PickleValue {
      guard let v = stack.popLast() else { throw fail("stack underflow at byte \(position)") }
      popped = max(popped, levels.popLast() ?? 0)
      if case .mark = v { throw fail("unexpected mark at byte \(position)") }
      return v
    }
    func popMark() throws(PyTorchError) -> [PickleValue] {
      guard let m = marks.popLast(), m <= stack.count else { throw fail("no mark at byte \(position)") }
      let items = Array(stack[m...])
      stack.removeSubrange(m...)
      popped = max(popped, levels[m...].max() ?? 0)
      levels.removeSubrange(m...)
      return items
    }
    func push(_ v: PickleValue, level: Int = 0) throws(PyTorchError) {
      guard stack.count < Self.maxStack else { throw PyTorchError.limit(file: file, part: part, what: "stack entries (maxPickleStack)", limit: Self.maxStack) }
      guard level <= Self.maxTupleDepth else { throw PyTorchError.limit(file: file, part: part, what: "levels of nested tuples (maxPickleTupleDepth)", limit: Self.maxTupleDepth) }
      stack.append(v)
      levels.append(level)
    }
    /// A tuple of what the closure pops, one level deeper than its deepest item.
    func pushTuple(_ build: () throws(PyTorchError) -> [PickleValue]) throws(PyTorchError) {
      popped = 0
      let items = try build()
      try push(.tuple(items), level: popped + 1)
    }
    func text(_ raw: UnsafeRawBufferPointer) throws(PyTorchError) -> String {
      guard let s = String(validating: raw, as: UTF8.self) else { throw PyTorchError.notUTF8(file: file, part: part, offset: position) }
      return s
    }
    func memoPut(_ i: Int) throws(PyTorchError) {
      guard memo.count < Self.maxMemo || memo[i] != nil else { throw PyTorchError.limit(file: file, part: part, what: "memo entries (maxPickleMemo)", limit: Self.maxMemo) }
      guard let top = stack.last else { throw fail("memo put without a value") }
      memo[i] = top
      memoLevels[i] = levels.last ?? 0
    }

    while true {
      let at = position
      let op = try u8()
      switch op {
      case 0x80:  // PROTO
        let p = try u8()
        guard p <= 3 else { throw PyTorchError.refusedProtocol(file: file, part: part, protocol: p) }
      case 0x2E:  // STOP
        return try pop()
      case 0x28: marks.append(stack.count)  // MARK
      case 0x7D: try push(.dict(arena.dict()))  // EMPTY_DICT
      case 0x5D: try push(.list(arena.list()))  // EMPTY_LIST
      case 0x29: try push(.tuple([]))  // EMPTY_TUPLE
      case 0x8F: try push(.list(arena.list()))  // EMPTY_SET (kept as a list)
      case 0x74: try pushTuple { () throws(PyTorchError) in try popMark() }  // TUPLE
      case 0x85: try pushTuple { () throws(PyTorchError) in [try pop()] }  // TUPLE1
      case 0x86:  // TUPLE2
        try pushTuple { () throws(PyTorchError) in
          let b = try pop(), a = try pop()
          return [a, b]
        }
      case 0x87:  // TUPLE3
        try pushTuple { () throws(PyTorchError) in
          let c = try pop(), b = try pop(), a = try pop()
          return [a, b, c]
        }
      case 0x71: try memoPut(try u8())  // BINPUT
      case 0x72: try memoPut(Int(try le(UInt32.self)))  // LONG_BINPUT
      case 0x68, 0x6A:  // BINGET, LONG_BINGET
        let i = op == 0x68 ? try u8() : Int(try le(UInt32.self))
        guard let v = memo[i] else { throw fail("memo \(i) read before it was written") }
        try push(v, level: memoLevels[i] ?? 0)
      case 0x58:  // BINUNICODE
        try push(.string(try text(try take(Int(try le(UInt32.self))))))
      case 0x55:  // SHORT_BINSTRING
        try push(.string(try text(try take(try u8()))))
      case 0x4A: try push(.int(Int64(try le(Int32.self))))  // BININT
      case 0x4B: try push(.int(Int64(try u8())))  // BININT1
      case 0x4D: try push(.int(Int64(try le(UInt16.self))))  // BININT2
      case 0x8A:  // LONG1
        let n = try u8()
        let raw = try take(n)
        guard n <= 8 else { throw fail("integer of \(n) bytes at byte \(at) is too large") }
        var v: Int64 = 0
        for (k, b) in raw.enumerated() { v |= Int64(b) << (8 * k) }
        if n > 0 && n < 8 && raw[n - 1] & 0x80 != 0 { v -= Int64(1) << (8 * n) }
        try push(.int(v))
      case 0x47:  // BINFLOAT, big-endian
        let raw = try take(8)
        try push(.float(Double(bitPattern: raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
      case 0x88: try push(.bool(true))  // NEWTRUE
      case 0x89: try push(.bool(false))  // NEWFALSE
      case 0x4E: try push(.none)  // NONE
      case 0x63:  // GLOBAL "module\nname\n"
        let module = try line(), name = try line()
        let full = module == "__builtin__" || module == "builtins" ? "builtins.\(name)" : "\(module).\(name)"
        if Self.storageTypes[full] != nil {
          try push(.global(full))
        } else if let d = Self.dtypes[full] {
          try push(.dtype(d))
        } else if Self.functions.contains(full) {
          try push(.global(full))
        } else {
          throw PyTorchError.refusedGlobal(file: file, part: part, offset: at, name: "\(module).\(name)")
        }
      case 0x52:  // REDUCE
        // The result may be one of the arguments (torch.Size): as deep as they are.
        popped = 0
        let args = try pop(), callable = try pop()
        try push(try call(callable, args), level: popped)
      case 0x81:  // NEWOBJ
        // The result may be one of the arguments (torch.Size): as deep as they are.
        popped = 0
        let args = try pop(), cls = try pop()
        try push(try call(cls, args), level: popped)
      case 0x62:  // BUILD: object state (OrderedDict _metadata, parameter hooks): dropped
        _ = try pop()
        guard !stack.isEmpty else { throw fail("BUILD without an object") }
      case 0x51:  // BINPERSID
        let s = try storage(try pop())
        storages[s.key] = s
        try push(.storage(s))
      case 0x73:  // SETITEM
        let v = try pop(), k = try pop()
        guard case .dict(let d) = stack.last else { throw fail("SETITEM on a non-dict at byte \(at)") }
        d.set(try key(k), v)
      case 0x75:  // SETITEMS
        let items = try popMark()
        guard items.count % 2 == 0, case .dict(let d) = stack.last else { throw fail("SETITEMS on a non-dict at byte \(at)") }
        for i in stride(from: 0, to: items.count, by: 2) { d.set(try key(items[i]), items[i + 1]) }
      case 0x61:  // APPEND
        let v = try pop()
        guard case .list(let l) = stack.last else { throw fail("APPEND on a non-list at byte \(at)") }
        l.items.append(v)
      case 0x65:  // APPENDS
        let items = try popMark()
        guard case .list(let l) = stack.last else { throw fail("APPENDS on a non-list at byte \(at)") }
        l.items += items
      default:
        throw PyTorchError.refusedOpcode(file: file, part: part, offset: at, opcode: "\(Self.opcodeName(op)) (0x\(String(format2: UInt8(op))))", then: Self.skimForCalls(bytes, from: at))
      }
    }

    func line() throws(PyTorchError) -> String {
      var end = position
      while end < bytes.count && bytes[end] != 0x0A && end - position < 256 { end += 1 }
      guard end < bytes.count, bytes[end] == 0x0A else { throw fail("unterminated GLOBAL name at byte \(position)") }
      let s = try text(UnsafeRawBufferPointer(rebasing: bytes[position..<end]))
      position = end + 1
      return s
    }

    func key(_ k: PickleValue) throws(PyTorchError) -> String {
      switch k {
      case .string(let s): return s
      case .int(let i): return String(i)
      default: throw fail("dict key of type \(k.typeName) (only str and int keys are supported)")
      }
    }

    func ints(_ v: PickleValue, _ what: String) throws(PyTorchError) -> [Int] {
      guard case .tuple(let items) = v else { throw fail("\(what) is not a tuple") }
      var out: [Int] = []
      for item in items {
        guard case .int(let i) = item, i >= 0, i <= Int64(Int32.max) * 1024 else { throw fail("\(what) holds \(item.typeName)") }
        out.append(Int(i))
      }
      return out
    }

    func storage(_ pid: PickleValue) throws(PyTorchError) -> StorageRef {
      guard case .tuple(let t) = pid, t.count == 5 || t.count == 6, case .string("storage") = t[0] else {
        throw fail("unsupported persistent id at byte \(position)")
      }
      let dtype: DType
      switch t[1] {
      case .global(let g) where Self.storageTypes[g] != nil: dtype = Self.storageTypes[g]!  // audited: checked in the pattern
      case .global("torch.UntypedStorage"): dtype = .u8
      case .dtype(let d): dtype = d
      default: throw fail("persistent id names no storage type")
      }
      guard case .string(let key) = t[2], case .int(let numel) = t[4], numel >= 0 else { throw fail("malformed storage id") }
      if t.count == 6, case .none = t[5] {} else if t.count == 6 { throw PyTorchError.unsupported(file: file, reason: "legacy storage views") }
      return StorageRef(key: key, dtype: dtype, numel: Int(numel))
    }

    func call(_ callable: PickleValue, _ args: PickleValue) throws(PyTorchError) -> PickleValue {
      guard case .global(let name) = callable else { throw PyTorchError.refusedCall(file: file, part: part, offset: position, name: callable.typeName) }
      guard case .tuple(let a) = args else { throw fail("\(name) called without an argument tuple") }
      switch name {
      case "collections.OrderedDict":
        return .dict(arena.dict())
      case "torch.Size":
        return a.first ?? .tuple([])
      case "torch._utils._rebuild_parameter":
        guard let data = a.first else { throw fail("_rebuild_parameter without data") }
        return data
      case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3":
        guard a.count >= 4, case .storage(var s) = a[0], case .int(let offset) = a[1], offset >= 0 else {
          throw fail("\(name) with unexpected arguments")
        }
        let shape = try ints(a[2], "size"), stride = try ints(a[3], "stride")
        guard shape.count == stride.count, shape.count <= Limits.maxDimensions else { throw fail("size and stride differ in length") }
        var dtype = s.dtype
        if name.hasSuffix("v3") {
          guard a.count >= 7, case .dtype(let d) = a[6] else { throw fail("_rebuild_tensor_v3 without a dtype") }
          dtype = d
          if s.dtype == .u8 && d != .u8 {  // untyped storage: numel counted bytes
            s.numel /= max(d.bits / 8, 1)
          }
          s.dtype = d
        }
        return .tensor(TensorRef(storage: s, offset: Int(offset), shape: shape, stride: stride, dtype: dtype))
      default:
        throw PyTorchError.refusedCall(file: file, part: part, offset: position, name: name)
      }
    }
  }

  /// For the error message only: walks protocol-0 text opcodes after a
  /// refused one to name the global an INST or GLOBAL would have called.
  /// Reads, never runs; gives up at the first opcode it does not know.
  static func skimForCalls(_ bytes: UnsafeRawBufferPointer, from start: Int) -> String {
    var p = start
    func line() -> String? {
      var e = p
      while e < bytes.count && bytes[e] != 0x0A && e - p < 256 { e += 1 }
      guard e < bytes.count else { return nil }
      defer { p = e + 1 }
      return String(decoding: bytes[p..<e], as: UTF8.self)
    }
    var steps = 0
    while p < bytes.count && steps < 1000 {
      steps += 1
      let op = bytes[p]
      let at = p
      p += 1
      switch op {
      case 0x28, 0x74, 0x2E, 0x30, 0x31, 0x32, 0x52, 0x62, 0x4E, 0x88, 0x89, 0x29, 0x5D, 0x7D, 0x6C, 0x64, 0x73, 0x75, 0x61, 0x65: continue
      case 0x53, 0x49, 0x4C, 0x46, 0x56, 0x50, 0x67, 0x70: guard line() != nil else { return "" }
      case 0x63, 0x69:
        guard let m = line(), let n = line() else { return "" }
        return "the pickle goes on to \(op == 0x69 ? "INST" : "GLOBAL") '\(m).\(n)' at byte \(at)"
      default: return ""
      }
    }
    return ""
  }

  static func opcodeName(_ op: Int) -> String {
    let names: [Int: String] = [
      0x93: "STACK_GLOBAL", 0x69: "INST", 0x6F: "OBJ", 0x95: "FRAME", 0x94: "MEMOIZE", 0x8C: "SHORT_BINUNICODE",
      0x53: "STRING", 0x56: "UNICODE", 0x49: "INT", 0x4C: "LONG", 0x46: "FLOAT", 0x70: "PUT", 0x67: "GET",
      0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8E: "BINBYTES8", 0x8D: "BINUNICODE8", 0x92: "NEWOBJ_EX",
      0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x8B: "LONG4", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x96: "BYTEARRAY8",
      0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 0x50: "PERSID", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP",
      0x6C: "LIST", 0x64: "DICT",
    ]
    return names[op] ?? "unknown"
  }
}
