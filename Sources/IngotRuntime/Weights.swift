import IngotContainer
import IngotQuant

/// Tensors of a container as f32 matrices, read one at a time (dequantized
/// and widened on the way), so a forward pass holds about one layer.
public final class Weights {
  public let reader: ContainerReader
  let index: [String: Int]

  public init(_ reader: ContainerReader) {
    self.reader = reader
    var index: [String: Int] = [:]
    for (i, t) in reader.header.tensors.enumerated() { index[t.name] = i }
    self.index = index
  }

  public func has(_ name: String) -> Bool { index[name] != nil }

  public func shape(_ name: String) throws -> [Int] {
    guard let i = index[name] else { throw RuntimeError.missingTensor(name) }
    return reader.header.tensors[i].shape
  }

  /// Runs `body`, naming this container's file in any RuntimeError it throws.
  public func context<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as RuntimeError {
      if case .inFile = e { throw e }
      throw RuntimeError.inFile(reader.path, e)
    }
  }

  /// The tensor's values as f32, row-major.
  public func load(_ name: String) throws -> [Float] {
    guard let i = index[name] else { throw RuntimeError.inFile(reader.path, .missingTensor(name)) }
    let t = reader.header.tensors[i]
    let n = t.elementCount
    // Every path below writes all n values (or throws): no zero-fill first.
    var out = [Float](unsafeUninitializedCapacity: n) { _, count in count = n }
    try reader.withPayload(i) { payload in
      try out.withUnsafeMutableBufferPointer { dst in
        guard let base = dst.baseAddress else { return }
        if let layout = try QuantLayout.parse(t.encoding, dtype: t.dtype, shape: t.shape) {
          Dequantizer.dequantize(payload, layout: layout, into: base)
          return
        }
        switch t.dtype {
        case .f32: UnsafeMutableRawPointer(base).copyMemory(from: payload.baseAddress!, byteCount: n * 4)  // audited: n > 0 here
        case .f16: for k in 0..<n { base[k] = Float(Float16(bitPattern: payload.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))) }
        case .bf16: for k in 0..<n { base[k] = Float(bitPattern: UInt32(payload.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)) << 16) }
        case .f64: for k in 0..<n { base[k] = Float(payload.loadUnaligned(fromByteOffset: 8 * k, as: Double.self)) }
        default: throw RuntimeError.unsupported("\(name): dtype \(t.dtype.rawValue) in a weight")
        }
      }
    }
    reader.release(i)
    return out
  }

  /// The model's config.json, kept as container metadata by convert, or one
  /// translated from the GGUF keys of a GGUF-born container.
  public func config() throws -> JSONValue { try context { try findConfig() } }

  func findConfig() throws -> JSONValue {
    if let text = reader.metadata["files/config.json"] {
      do { return try JSONParser.parse(Array(text.utf8)) } catch { throw RuntimeError.unsupported("config.json: \(error.description)") }
    }
    // A GGUF-born container: its llama.cpp keys say the same things.
    if let config = try GGUFConfig.translate(reader.metadata, shape: { try? self.shape($0) }) { return config }
    throw RuntimeError.unsupported("no config.json in this container (convert the model folder, not the weights file)")
  }
}

public enum RuntimeError: Error, CustomStringConvertible, Equatable {
  case missingTensor(String)
  case unsupported(String)
  case badInput(String)
  /// The same, about the container at this path.
  indirect case inFile(String, RuntimeError)

  public var description: String {
    switch self {
    case .missingTensor(let n): "missing tensor '\(n)'"
    case .unsupported(let r): r
    case .badInput(let r): r
    case .inFile(let path, let e): "\(path): \(e.description)"
    }
  }
}

extension RuntimeError: ReportableError {}
