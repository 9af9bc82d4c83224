import IngotCore

/// .npy files and .npz archives as a TensorSource: one tensor per array,
/// named after the file (.npy) or the archive member (.npz), without ".npy".
/// Little-endian C-order arrays are read in place; big-endian and Fortran
/// order are converted to little-endian C order.
public final class NumpySource: TensorSource, @unchecked Sendable {
  // @unchecked: immutable after init.
  struct Item {
    var name: String
    var header: NpyHeader
    var file: Int
    /// .npy: the array's bytes in the file; .npz: the archive entry.
    var range: Range<Int>?
    var entry: ZipArchive.Entry?
  }

  let mapped: [MappedFile]
  let archives: [ZipArchive?]
  let items: [Item]
  public let files: [SourceFile]

  public init(paths: [String]) throws {
    var mapped: [MappedFile] = [], archives: [ZipArchive?] = [], items: [Item] = [], files: [SourceFile] = []
    for path in paths {
      let file = try MappedFile(path: path)
      let index = mapped.count
      mapped.append(file)
      let isZip = file.bytes(0..<min(4, file.size)).map(Array.init) == [0x50, 0x4B, 0x03, 0x04]
      if isZip {
        let archive = try ZipArchive(file: file)
        archives.append(archive)
        files.append(SourceFile(path: path, recordedPath: baseName(path), format: "npz", size: file.size))
        for entry in archive.entries {
          guard entry.name.hasSuffix(".npy") else {
            throw NumpyError.notAnArray(file: path, member: entry.name)
          }
          let name = String(entry.name.dropLast(4))
          // Only the header is inflated here: the data waits for withPayload.
          let header = try archive.withPrefix(entry, NpyHeader.maxHeaderImage) {
            try NpyHeader.parse($0, totalSize: entry.size, file: path, array: name)
          }
          items.append(Item(name: name, header: header, file: index, range: nil, entry: entry))
        }
      } else {
        archives.append(nil)
        files.append(SourceFile(path: path, recordedPath: baseName(path), format: "npy", size: file.size))
        var name = baseName(path)
        if name.hasSuffix(".npy") { name.removeLast(4) }
        let header = try NpyHeader.parse(file.all, file: path, array: name)
        items.append(Item(name: name, header: header, file: index, range: header.dataOffset..<file.size, entry: nil))
      }
    }
    var seen = Set<String>()
    for item in items where !seen.insert(item.name).inserted {
      throw NumpyError.duplicateArray(file: paths[item.file], array: item.name)
    }
    self.mapped = mapped
    self.archives = archives
    self.items = items.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    self.files = files
  }

  public var format: String { "numpy" }
  public var tensors: [SourceTensor] {
    items.map { SourceTensor(name: $0.name, dtype: $0.header.dtype, shape: $0.header.shape, byteCount: $0.header.byteCount) }
  }
  public var metadata: [String: String] { [:] }
  public var provenance: [ProvenanceStep] { [] }
  public var inputModelDigest: String? { nil }

  public func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    let item = items[index]
    func deliver(_ data: UnsafeRawBufferPointer) throws -> R {
      if item.header.isNative { return try body(data) }
      let out = try allocateBuffer(item.header.byteCount, file: mapped[item.file].path)
      defer { out.deallocate() }
      let view = UnsafeMutableRawBufferPointer(rebasing: out[0..<item.header.byteCount])
      item.header.convert(data, into: view)
      return try body(UnsafeRawBufferPointer(view))
    }
    if let range = item.range {
      guard let data = mapped[item.file].bytes(range) else {
        throw NumpyError.dataOutOfBounds(file: mapped[item.file].path, array: item.name)
      }
      return try deliver(data)
    }
    guard let archive = archives[item.file], let entry = item.entry else {
      throw NumpyError.dataOutOfBounds(file: mapped[item.file].path, array: item.name)
    }
    return try archive.withEntry(entry) { npy in
      try deliver(UnsafeRawBufferPointer(rebasing: npy[item.header.dataOffset..<npy.count]))
    }
  }

  public func release(_ index: Int) {
    let item = items[index]
    if let range = item.range { mapped[item.file].release(range) } else if let e = item.entry { mapped[item.file].release(e.data) }
  }
}
