import IngotCore

#if canImport(Glibc)
  import Glibc
#endif

/// ONNX initializers and Constant-node tensors as a TensorSource: raw_data,
/// typed fields (float_data, int32_data, int64_data, double_data,
/// uint64_data) and external data next to the model.
public final class ONNXModel: TensorSource, @unchecked Sendable {
  // @unchecked: immutable after init.
  enum Data {
    /// Little-endian element bytes already: a range in the model (raw_data,
    /// packed float/double data) or in an external file.
    case bytes(file: Int, range: Range<Int>)
    /// Varint-coded elements (int32_data, int64_data, uint64_data).
    case varints(ranges: [Range<Int>], packed: [Bool])
    /// Unpacked fixed-size elements, one field each.
    case fixed(ranges: [Range<Int>])
  }

  struct Item {
    var name: String
    var dtype: DType
    var shape: [Int]
    var data: Data
  }

  public let path: String
  let mapped: [MappedFile]
  let items: [Item]

  static let types: [UInt64: DType] = [
    1: .f32, 2: .u8, 3: .i8, 4: .u16, 5: .i16, 6: .i32, 7: .i64, 9: .bool, 10: .f16, 11: .f64, 12: .u32, 13: .u64, 16: .bf16,
  ]

  public init(path: String) throws {
    self.path = path
    let model = try MappedFile(path: path)
    var files = [model]
    let buf = model.all
    var items: [Item] = []
    let folder = path.contains("/") ? String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) : "."
    var externalIndex: [String: Int] = [:]

    func tensor(_ range: Range<Int>, fallbackName: String?) throws -> Item {
      var r = ProtobufReader(buf, range)
      var dims: [Int] = [], type: UInt64 = 0, name = fallbackName ?? ""
      var raw: Range<Int>? = nil
      // float_data (4) and double_data (10), packed or not, in wire order.
      var fixed: [(field: Int, bytes: Range<Int>)] = []
      var varints: [Range<Int>] = [], packedFlags: [Bool] = []
      var external: [String: String] = [:]
      var location: UInt64 = 0
      do throws(ProtobufReader.Failure) {
        while !r.done {
          let (field, value) = try r.next()
          switch (field, value) {
          // One past maxDimensions is kept, enough to refuse the tensor
          // below without holding 64M of them.
          case (1, .varint(let d)): if dims.count <= Limits.maxDimensions { dims.append(Int(truncatingIfNeeded: d)) }
          case (1, .bytes(let p)):
            var q = ProtobufReader(buf, p)
            while !q.done && dims.count <= Limits.maxDimensions { dims.append(Int(truncatingIfNeeded: try q.varint())) }
          case (2, .varint(let t)): type = t
          case (8, .bytes(let s)): if fallbackName == nil { name = r.string(s) }
          case (9, .bytes(let b)): raw = b
          case (4, .bytes(let b)), (10, .bytes(let b)): fixed.append((field, b))
          case (4, .fixed32), (10, .fixed64): fixed.append((field, (r.at - (field == 4 ? 4 : 8))..<r.at))
          case (5, .bytes(let b)), (7, .bytes(let b)), (11, .bytes(let b)):
            varints.append(b)
            packedFlags.append(true)
          case (5, .varint), (7, .varint), (11, .varint):
            // Re-read the value's bytes: back up over the varint just parsed.
            var s = r.at - 1
            while s > range.lowerBound && buf[s - 1] & 0x80 != 0 { s -= 1 }
            varints.append(s..<r.at)
            packedFlags.append(false)
          case (13, .bytes(let e)):
            var q = ProtobufReader(buf, e)
            var key = "", val = ""
            while !q.done {
              let (f, v) = try q.next()
              if case .bytes(let s) = v { if f == 1 { key = q.string(s) } else if f == 2 { val = q.string(s) } }
            }
            external[key] = val
          case (14, .varint(let l)): location = l
          default: break
          }
        }
      } catch {
        throw ONNXError.protobuf(file: path, tensor: name.isEmpty ? nil : name, offset: error.offset, reason: error.reason)
      }
      guard !name.isEmpty else { throw ONNXError.unnamedTensor(file: path) }
      guard let dtype = Self.types[type] else { throw ONNXError.unsupportedType(file: path, tensor: name, type: type) }
      guard dims.allSatisfy({ $0 >= 0 }), dims.count <= Limits.maxDimensions, let count = elementCount(dims), let size = dtype.byteCount(elements: count) else {
        throw ONNXError.badDims(file: path, tensor: name, dims: Array(dims.prefix(17)))
      }
      let data: Data
      if location == 1 || !external.isEmpty {
        guard let loc = external["location"], !loc.isEmpty else { throw ONNXError.externalWithoutLocation(file: path, tensor: name) }
        guard !loc.hasPrefix("/"), !loc.split(separator: "/").contains(".."), !loc.contains("\\") else {
          throw ONNXError.externalEscapes(file: path, tensor: name, location: loc)
        }
        let full = folder + "/" + loc
        // Resolve symlinks too: the real path must stay inside the real folder.
        guard let realFolder = Self.resolved(folder), let realFile = Self.resolved(full), realFile.hasPrefix(realFolder + "/")
        else { throw ONNXError.externalUnresolved(file: path, tensor: name, location: loc) }
        let index: Int
        if let i = externalIndex[realFile] { index = i } else {
          index = files.count
          files.append(try MappedFile(path: realFile))  // the path checked, not one swapped in since
          externalIndex[realFile] = index
        }
        let offset = Int(external["offset"] ?? "0") ?? -1
        let length = Int(external["length"] ?? String(size)) ?? -1
        guard offset >= 0, length == size, offset <= files[index].size, size <= files[index].size - offset else {
          throw ONNXError.externalRange(file: path, tensor: name, location: loc, offset: offset, length: length, needed: size)
        }
        data = .bytes(file: index, range: offset..<(offset + size))
      } else if let raw {
        guard raw.count == size else { throw ONNXError.dataLength(file: path, tensor: name, field: "raw_data", actual: raw.count, expected: size) }
        data = .bytes(file: 0, range: raw)
      } else if !fixed.isEmpty {
        // float_data holds FLOAT values, double_data DOUBLE ones: the field
        // must match the type, or the bytes would be reinterpreted.
        for f in fixed where (f.field == 4 ? DType.f32 : .f64) != dtype {
          throw ONNXError.typedDataMismatch(file: path, tensor: name, field: f.field == 4 ? "float_data" : "double_data", dtype: dtype.rawValue)
        }
        let total = fixed.reduce(0) { $0 + $1.bytes.count }
        guard total == size else { throw ONNXError.dataLength(file: path, tensor: name, field: fixed[0].field == 4 ? "float_data" : "double_data", actual: total, expected: size) }
        data = fixed.count == 1 ? .bytes(file: 0, range: fixed[0].bytes) : .fixed(ranges: fixed.map(\.bytes))
      } else if !varints.isEmpty {
        data = .varints(ranges: varints, packed: packedFlags)
      } else {
        guard count == 0 else { throw ONNXError.noData(file: path, tensor: name, elements: count) }
        data = .bytes(file: 0, range: 0..<0)
      }
      return Item(name: name, dtype: dtype, shape: dims, data: data)
    }

    do {
      var m = ProtobufReader(buf, 0..<buf.count)
      while !m.done {
        let (field, value) = try m.next()
        guard field == 7, case .bytes(let graph) = value else { continue }
        var g = ProtobufReader(buf, graph)
        while !g.done {
          let (gf, gv) = try g.next()
          if gf == 5, case .bytes(let t) = gv { items.append(try tensor(t, fallbackName: nil)) }
          if gf == 1, case .bytes(let node) = gv {
            // Constant nodes: op_type "Constant", attribute "value" holds a tensor,
            // named after the node's output.
            var n = ProtobufReader(buf, node)
            var op = "", output = "", attrTensors: [Range<Int>] = []
            while !n.done {
              let (nf, nv) = try n.next()
              guard case .bytes(let b) = nv else { continue }
              if nf == 4 { op = n.string(b) }
              if nf == 2 && output.isEmpty { output = n.string(b) }
              if nf == 5 {
                var a = ProtobufReader(buf, b)
                var attrName = "", t: Range<Int>? = nil
                while !a.done {
                  let (af, av) = try a.next()
                  if case .bytes(let ab) = av { if af == 1 { attrName = a.string(ab) } else if af == 5 { t = ab } }
                }
                if attrName == "value", let t { attrTensors.append(t) }
              }
            }
            if op == "Constant", let t = attrTensors.first, !output.isEmpty { items.append(try tensor(t, fallbackName: output)) }
          }
        }
      }
    } catch let error as ProtobufReader.Failure {
      throw ONNXError.protobuf(file: path, tensor: nil, offset: error.offset, reason: error.reason)
    }
    guard !items.isEmpty else { throw ONNXError.noTensors(file: path) }
    var seen = Set<String>()
    for item in items where !seen.insert(item.name).inserted { throw ONNXError.duplicateTensor(file: path, tensor: item.name) }
    self.items = items.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    mapped = files
  }

  static func resolved(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
  }

  public var format: String { "onnx" }
  public var tensors: [SourceTensor] {
    items.map { SourceTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, byteCount: $0.dtype.byteCount(elements: elementCount($0.shape) ?? 0) ?? 0) }
  }
  public var metadata: [String: String] { [:] }
  public var files: [SourceFile] {
    mapped.enumerated().map { i, f in
      SourceFile(path: f.path, recordedPath: baseName(f.path), format: i == 0 ? "onnx" : "onnx-external-data", size: f.size)
    }
  }
  public var provenance: [ProvenanceStep] { [] }
  public var inputModelDigest: String? { nil }

  public func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    let item = items[index]
    let size = item.dtype.byteCount(elements: elementCount(item.shape) ?? 0) ?? 0
    switch item.data {
    case .bytes(let f, let range):
      guard let b = mapped[f].bytes(range) else { throw ONNXError.dataOutOfBounds(file: path, tensor: item.name) }
      return try body(b)
    case .fixed(let ranges):
      var out: [UInt8] = []
      out.reserveCapacity(size)
      for r in ranges { out += mapped[0].all[r] }
      return try out.withUnsafeBytes { try body($0) }
    case .varints(let ranges, _):
      let width = max(item.dtype.bits / 8, 1)
      var out = [UInt8](repeating: 0, count: size)
      var k = 0
      for r in ranges {
        var reader = ProtobufReader(mapped[0].all, r)
        while !reader.done {
          let v: UInt64
          do { v = try reader.varint() } catch { throw ONNXError.protobuf(file: path, tensor: item.name, offset: error.offset, reason: error.reason) }
          guard k < (elementCount(item.shape) ?? 0) else { throw ONNXError.valueCount(file: path, tensor: item.name, count: k + 1, shape: item.shape) }
          // int32_data carries f16/bf16 bit patterns and narrow integers: keep the low bytes.
          for b in 0..<width { out[k * width + b] = UInt8(truncatingIfNeeded: v >> (8 * b)) }
          k += 1
        }
      }
      guard k == elementCount(item.shape) ?? 0 else { throw ONNXError.valueCount(file: path, tensor: item.name, count: k, shape: item.shape) }
      return try out.withUnsafeBytes { try body($0) }
    }
  }

  public func release(_ index: Int) {}
}
