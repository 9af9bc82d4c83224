import IngotCore

#if canImport(Glibc)
  import Glibc
#endif

/// safetensors as a TensorSource: one file, several files, a sharded model
/// (`model.safetensors.index.json`) or a model folder. Tensors are listed in
/// name order, so the same weights give the same container however they were
/// sharded.
public final class SafetensorsSource: TensorSource, @unchecked Sendable {
  // @unchecked: immutable after init; the mapped files are read-only.
  public let shards: [SafetensorsFile]
  public let tensors: [SourceTensor]
  public let metadata: [String: String]
  public let files: [SourceFile]
  let locations: [(shard: Int, range: Range<Int>)]

  public var format: String { "safetensors" }
  public var provenance: [ProvenanceStep] { [] }
  public var inputModelDigest: String? { nil }

  /// Text files kept in the container so that it is a complete model.
  public static let companionFiles = [
    "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "added_tokens.json",
  ]
  public static let indexName = "model.safetensors.index.json"
  /// Companion files larger than this are not metadata; refuse rather than load.
  static let maxCompanionBytes = Limits.maxMetadataStringBytes

  /// - Parameter path: a `.safetensors` file, an index JSON, or a folder.
  public convenience init(path: String) throws {
    try self.init(paths: [path])
  }

  public init(paths: [String]) throws {
    var shardPaths: [(path: String, recorded: String)] = []
    var extraFiles: [SourceFile] = []
    var fileMetadata: [String: String] = [:]
    var indexMap: [String: String]? = nil
    var indexPath = ""
    for path in paths {
      if isDirectory(path) {
        let folder = path
        if fileExists(folder + "/" + Self.indexName) {
          let index = try ModelFolder.resolve(folder, Self.indexName)
          let (map, shardNames) = try Self.readIndex(index)
          indexMap = map
          indexPath = index
          shardPaths += try shardNames.map { (try ModelFolder.resolve(folder, $0), $0) }
          extraFiles.append(try Self.describe(index, recorded: Self.indexName, format: "safetensors-index"))
        } else {
          let names = try listDirectory(folder).filter { $0.hasSuffix(".safetensors") }.sorted()
          guard !names.isEmpty else {
            throw SafetensorsError.badIndex(file: folder, reason: "folder holds no .safetensors file and no \(Self.indexName)")
          }
          shardPaths += try names.map { (try ModelFolder.resolve(folder, $0), $0) }
        }
        for name in Self.companionFiles where fileExists(folder + "/" + name) {
          let file = try ModelFolder.resolve(folder, name)
          let mapped = try MappedFile(path: file)
          guard mapped.size <= Self.maxCompanionBytes else {
            throw SafetensorsError.badIndex(file: file, reason: "\(mapped.size) bytes is too large for a metadata file")
          }
          guard let text = String(validating: mapped.all, as: UTF8.self) else {
            throw SafetensorsError.badIndex(file: file, reason: "not valid UTF-8 text")
          }
          fileMetadata["files/" + name] = text
          extraFiles.append(SourceFile(path: file, recordedPath: name, format: "text", size: mapped.size))
        }
      } else if path.hasSuffix(".json") {
        let (map, shardNames) = try Self.readIndex(path)
        indexMap = map
        indexPath = path
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."  // audited: contains("/")
        shardPaths += try shardNames.map { (try ModelFolder.resolve(folder, $0), $0) }
        extraFiles.append(try Self.describe(path, recorded: baseName(path), format: "safetensors-index"))
      } else {
        shardPaths.append((path, baseName(path)))
      }
    }

    var shards: [SafetensorsFile] = []
    var all: [(SafetensorsFile.Entry, Int)] = []
    var seen: [String: String] = [:]
    var metadata = fileMetadata
    var files: [SourceFile] = []
    for (i, shard) in shardPaths.enumerated() {
      let file = try SafetensorsFile(path: shard.path)
      shards.append(file)
      files.append(SourceFile(path: shard.path, recordedPath: shard.recorded, format: "safetensors", size: file.mapped.size))
      for (k, v) in file.metadata where metadata["safetensors/" + k] == nil { metadata["safetensors/" + k] = v }
      for e in file.entries {
        if seen[e.name] != nil { throw SafetensorsError.duplicateTensor(file: shard.path, tensor: e.name) }
        seen[e.name] = shard.recorded
        all.append((e, i))
      }
    }
    if let indexMap {
      for (tensor, shard) in indexMap where seen[tensor] != shard {
        throw SafetensorsError.badIndex(
          file: indexPath, reason: "\(tensor): listed in shard \(shard) but \(seen[tensor].map { "found in \($0)" } ?? "not found")")
      }
      for (tensor, shard) in seen where indexMap[tensor] == nil {
        throw SafetensorsError.badIndex(file: indexPath, reason: "\(tensor): present in \(shard) but missing from the weight_map")
      }
    }
    all.sort { Array($0.0.name.utf8).lexicographicallyPrecedes(Array($1.0.name.utf8)) }
    self.shards = shards
    self.metadata = metadata
    self.files = files + extraFiles
    self.tensors = all.map {
      SourceTensor(name: $0.0.name, dtype: $0.0.dtype, shape: $0.0.shape, byteCount: $0.0.range.count)
    }
    self.locations = all.map { ($0.1, $0.0.range) }
  }

  static func describe(_ path: String, recorded: String, format: String) throws -> SourceFile {
    let m = try MappedFile(path: path)
    return SourceFile(path: path, recordedPath: recorded, format: format, size: m.size)
  }

  /// Reads `{"metadata": {...}, "weight_map": {tensor: shard}}`; shard names
  /// must be plain file names in the same folder.
  static func readIndex(_ path: String) throws -> (map: [String: String], shards: [String]) {
    let mapped = try MappedFile(path: path)
    guard mapped.size <= maxCompanionBytes else {
      throw SafetensorsError.badIndex(file: path, reason: "index is \(mapped.size) bytes, too large")
    }
    let json: JSONValue
    do {
      json = try JSONParser.parse(mapped.all)
    } catch {
      throw SafetensorsError.badIndex(file: path, reason: error.description)
    }
    guard let map = json["weight_map"]?.objectValue else {
      throw SafetensorsError.badIndex(file: path, reason: "no \"weight_map\" object")
    }
    var result: [String: String] = [:]
    for (tensor, shard) in map {
      guard let name = shard.stringValue, !name.isEmpty, !name.contains("/"), name != "..", name != "." else {
        throw SafetensorsError.badIndex(file: path, reason: "\(tensor): shard must be a file name in the index's folder")
      }
      result[tensor] = name
    }
    return (result, Set(result.values).sorted())
  }

  public func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    let loc = locations[index]
    // audited: SafetensorsFile proved every range lies inside its file.
    guard let bytes = shards[loc.shard].mapped.bytes(loc.range) else {
      throw SafetensorsError.dataLengthMismatch(file: shards[loc.shard].path, dataEnd: loc.range.upperBound, available: shards[loc.shard].mapped.size)
    }
    return try body(bytes)
  }

  public func forEachSlice(_ index: Int, size: Int, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
    let loc = locations[index]
    try shards[loc.shard].mapped.forEachSlice(loc.range, size: size, body)
  }

  public func release(_ index: Int) {
    let loc = locations[index]
    shards[loc.shard].mapped.release(loc.range)
  }
}

func isDirectory(_ path: String) -> Bool {
  var st = stat()
  return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

func fileExists(_ path: String) -> Bool {
  var st = stat()
  return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}

func listDirectory(_ path: String) throws -> [String] {
  guard let dir = opendir(path) else { throw FileError.io(file: path, operation: "open folder", errno: errno) }
  defer { closedir(dir) }
  var names: [String] = []
  while let entry = readdir(dir) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
      String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
    if name != "." && name != ".." { names.append(name) }
  }
  return names
}
