import IngotCore

/// A PyTorch checkpoint (`torch.save`) as a TensorSource, without running
/// any of it: the zip format (torch ≥ 1.6, any top folder) and the legacy
/// stacked-pickle format. Tensors are named by their dotted path through
/// nested dicts; views are materialized in row-major order; tensors that
/// share a storage each get their own copy of their elements.
public final class TorchCheckpoint: TensorSource, @unchecked Sendable {
  // @unchecked: immutable after init.
  struct Item {
    var name: String
    var tensor: TensorRef
  }

  public let path: String
  let mapped: MappedFile
  let archive: ZipArchive?
  let items: [Item]
  /// Storage key → bytes in the file (zip entries, or legacy ranges).
  let zipEntries: [String: ZipArchive.Entry]
  let legacyRanges: [String: Range<Int>]
  let bigEndian: Bool
  public let metadata: [String: String]

  public init(path: String) throws {
    self.path = path
    let file = try MappedFile(path: path)
    mapped = file
    let isZip = file.bytes(0..<min(4, file.size)).map(Array.init) == [0x50, 0x4B, 0x03, 0x04]
    var root: PickleValue
    var storages: [String: StorageRef]
    var entries: [String: ZipArchive.Entry] = [:]
    var ranges: [String: Range<Int>] = [:]
    var big = false
    var arena: PickleArena
    if isZip {
      let zip = try ZipArchive(file: file)
      archive = zip
      guard let pkl = zip.entries.first(where: { $0.name.hasSuffix("/data.pkl") || $0.name == "data.pkl" }) else {
        throw PyTorchError.notACheckpoint(file: path, reason: "zip without data.pkl (not a torch.save checkpoint)")
      }
      let top = String(pkl.name.dropLast("data.pkl".count))
      if let order = zip.entries.first(where: { $0.name == top + "byteorder" }) {
        let text = try zip.withEntry(order) { String(decoding: $0, as: UTF8.self) }
        guard text == "little" || text == "big" else { throw PyTorchError.notACheckpoint(file: path, reason: "byteorder is '\(text)'") }
        big = text == "big"
      }
      for e in zip.entries where e.name.hasPrefix(top + "data/") { entries[String(e.name.dropFirst((top + "data/").count))] = e }
      guard pkl.size <= Limits.maxPickleBytes else {
        throw PyTorchError.limit(file: path, part: "data.pkl", what: "bytes (maxPickleBytes)", limit: Limits.maxPickleBytes)
      }
      (root, storages, arena) = try zip.withEntry(pkl) { bytes in
        var d = PickleDecoder(bytes: bytes, file: path, part: "data.pkl")
        let v = try d.decode()
        return (v, d.storages, d.arena)
      }
    } else {
      archive = nil
      let all = file.all
      let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
      var decoder = PickleDecoder(bytes: all, file: path, part: "pickle 1 of 5")
      arena = decoder.arena
      if all.count >= magic.count && Array(all[0..<magic.count]) == magic {
        // Legacy format: magic, protocol version, sys_info, the object, storage keys.
        decoder.position = magic.count
        decoder.part = "pickle 2 of 5"
        guard case .int(1001) = try decoder.decode() else { throw PyTorchError.notACheckpoint(file: path, reason: "legacy protocol version is not 1001") }
        decoder.part = "pickle 3 of 5 (sys_info)"
        if case .dict(let info) = try decoder.decode(), case .bool(let little)? = info.values["little_endian"] { big = !little }
        decoder.part = "pickle 4 of 5"
        root = try decoder.decode()
        decoder.part = "pickle 5 of 5"
        guard case .list(let keys) = try decoder.decode() else { throw PyTorchError.notACheckpoint(file: path, reason: "legacy storage key list missing") }
        var at = decoder.position
        for k in keys.items {
          guard case .string(let key) = k, let s = decoder.storages[key] else {
            throw PyTorchError.notACheckpoint(file: path, reason: "legacy storage list names an unknown storage")
          }
          guard let raw = all.readLE(at, as: Int64.self) else { throw PyTorchError.storageTooLarge(file: path, key: key, elements: s.numel) }
          let count = Int(big ? Int64(bigEndian: Int64(littleEndian: raw)) : raw)
          let size = s.dtype.bits / 8
          guard count == s.numel, count >= 0, count <= (all.count - at - 8) / max(size, 1) else {
            throw PyTorchError.storageTooLarge(file: path, key: key, elements: count)
          }
          ranges[key] = (at + 8)..<(at + 8 + count * size)
          at += 8 + count * size
        }
        storages = decoder.storages
      } else {
        decoder.part = "pickle"
        root = try decoder.decode()
        storages = decoder.storages
        guard storages.isEmpty else { throw PyTorchError.notACheckpoint(file: path, reason: "a bare pickle cannot hold tensor storages") }
      }
    }
    _ = storages
    zipEntries = entries
    legacyRanges = ranges
    bigEndian = big

    // Name tensors by their dotted path; keep simple values as metadata.
    var items: [Item] = []
    var meta: [String: String] = [:]
    func walk(_ v: PickleValue, _ prefix: String, _ depth: Int) throws {
      guard depth < Limits.maxStateDictDepth else { throw PyTorchError.nestedTooDeep(file: path, limit: Limits.maxStateDictDepth) }
      switch v {
      case .tensor(let t): items.append(Item(name: prefix, tensor: t))
      case .dict(let d):
        for k in d.keys { try walk(d.values[k] ?? .none, prefix.isEmpty ? k : prefix + "." + k, depth + 1) }
      case .int(let i): meta["pytorch/" + prefix] = String(i)
      case .float(let f): meta["pytorch/" + prefix] = f.description
      case .string(let s): meta["pytorch/" + prefix] = s
      case .bool(let b): meta["pytorch/" + prefix] = b ? "True" : "False"
      default: break
      }
    }
    // The boxes are emptied when init ends, thrown or not: names, shapes
    // and storages have been copied out by then.
    defer { arena.clear() }
    try walk(root, "", 0)
    guard !items.isEmpty else { throw PyTorchError.noTensors(file: path) }
    var seen = Set<String>()
    for item in items where !seen.insert(item.name).inserted {
      throw PyTorchError.duplicateTensor(file: path, tensor: item.name)
    }
    // Every view must lie inside its storage: checked now, before any read.
    for item in items {
      let t = item.tensor
      let size = t.dtype.bits / 8
      guard let count = elementCount(t.shape), count.multipliedReportingOverflow(by: size).overflow == false else {
        throw PyTorchError.viewOutOfBounds(file: path, tensor: item.name, reason: "shape overflows")
      }
      var last = t.offset
      for (n, s) in zip(t.shape, t.stride) where n > 0 {
        let (m, o1) = (n - 1).multipliedReportingOverflow(by: s)
        let (sum, o2) = last.addingReportingOverflow(m)
        guard !o1, !o2 else { throw PyTorchError.viewOutOfBounds(file: path, tensor: item.name, reason: "strides overflow") }
        last = sum
      }
      let stored = isZip ? zipEntries[t.storage.key].map { $0.size / max(size, 1) } : legacyRanges[t.storage.key].map { $0.count / max(size, 1) }
      guard let available = stored else { throw PyTorchError.storageMissing(file: path, tensor: item.name, key: t.storage.key) }
      // Even an empty view's offset must lie in its storage: the byte
      // offset offset·size is computed from it.
      guard t.offset <= available, count == 0 || last < available else {
        throw PyTorchError.viewOutOfBounds(file: path, tensor: item.name, reason: "view reaches element \(last) of a \(available)-element storage")
      }
    }
    self.items = items.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    metadata = meta
  }

  public var format: String { "pytorch" }
  public var tensors: [SourceTensor] {
    items.map { SourceTensor(name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape, byteCount: (elementCount($0.tensor.shape) ?? 0) * ($0.tensor.dtype.bits / 8)) }
  }
  public var files: [SourceFile] { [SourceFile(path: path, recordedPath: baseName(path), format: "pytorch", size: mapped.size)] }
  public var provenance: [ProvenanceStep] { [] }
  public var inputModelDigest: String? { nil }

  public func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    let t = items[index].tensor
    let size = t.dtype.bits / 8
    let count = elementCount(t.shape) ?? 0
    func gather(_ storage: UnsafeRawBufferPointer) throws -> R {
      let contiguous = isContiguous(t)
      if count == 0 { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
      if contiguous && !bigEndian {
        return try body(UnsafeRawBufferPointer(rebasing: storage[(t.offset * size)..<((t.offset + count) * size)]))
      }
      // Views (transposes, slices) are materialized row-major; big-endian
      // storages are byte-swapped.
      let out = try allocateBuffer(count * size, file: path)
      defer { out.deallocate() }
      var index = [Int](repeating: 0, count: t.shape.count)
      for i in 0..<count {
        var from = t.offset
        for d in 0..<t.shape.count { from += index[d] * t.stride[d] }
        for b in 0..<size {
          out[i * size + b] = storage[from * size + (bigEndian ? size - 1 - b : b)]
        }
        var d = t.shape.count - 1
        while d >= 0 {
          index[d] += 1
          if index[d] < t.shape[d] { break }
          index[d] = 0
          d -= 1
        }
      }
      return try body(UnsafeRawBufferPointer(rebasing: out[0..<(count * size)]))
    }
    if let archive, let entry = zipEntries[t.storage.key] {
      return try archive.withEntry(entry) { try gather($0) }
    }
    guard let range = legacyRanges[t.storage.key], let bytes = mapped.bytes(range) else {
      throw PyTorchError.storageMissing(file: path, tensor: items[index].name, key: items[index].tensor.storage.key)
    }
    return try gather(bytes)
  }

  func isContiguous(_ t: TensorRef) -> Bool {
    var expected = 1
    for d in stride(from: t.shape.count - 1, through: 0, by: -1) where t.shape[d] != 1 {
      if t.stride[d] != expected { return false }
      expected *= t.shape[d]
    }
    return true
  }

  public func release(_ index: Int) {
    let key = items[index].tensor.storage.key
    if let e = zipEntries[key] { mapped.release(e.data) } else if let r = legacyRanges[key] { mapped.release(r) }
  }
}
