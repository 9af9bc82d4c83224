#if canImport(Glibc)
  import Glibc
#endif
import Dispatch
import IngotArchitectures
import IngotCore
import IngotQuant

/// Tensors of any source as f32 matrices, read one at a time (dequantized
/// and widened on the way; each payload checked against the digest its
/// source promises), so a forward pass holds about one layer.
public final class Weights {
  public let source: any TensorSource
  let index: [String: Int]
  /// Check each payload against its source's digest before using it.
  public var verifyDigests = true
  static let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

  /// Set while a pass checks digests beside itself (see DigestBehind).
  var behind: DigestBehind? = nil

  /// Sees every linear layer's input while set (`ingot calibrate`).
  public var observer: ActivationStats? = nil

  /// Values that stand in for a tensor's own (a sensitivity measurement:
  /// one tensor quantized, the rest as stored).
  public var overrides: [String: [Float]] = [:]

  /// Set while `checkingBehind` verified every payload up front.
  var verifiedUpFront = false

  /// Runs `body` (a forward pass) with every payload's digest checked off
  /// its critical path. With a core to spare, on a background queue beside
  /// it (DigestBehind), its result returned only once every check passed.
  /// Without one, a hashing thread would hold up one share of every product
  /// (each waits for its slowest share), so every payload is hashed before
  /// the pass instead, all threads hashing different tensors (one tensor's
  /// SHA-256 cannot be split; inline, each one stalled the pass).
  /// Verification off: `body` as it is.
  func checkingBehind<T>(_ body: () throws -> T) throws -> T {
    guard verifyDigests, behind == nil, !verifiedUpFront else { return try body() }
    guard Ops.threads < Self.cores else {
      try verifyAll()
      verifiedUpFront = true
      defer { verifiedUpFront = false }
      return try body()
    }
    let checks = DigestBehind(source)
    behind = checks
    defer { behind = nil }
    let result: T
    do { result = try body() } catch {
      _ = checks.finish()
      throw error
    }
    if let damaged = checks.finish() { throw RuntimeError.inFile(path, .digestMismatch(damaged)) }
    return result
  }

  /// Every payload against its digest, largest first so the threads
  /// finish together (as `ingot verify` does).
  func verifyAll() throws {
    let tensors = source.tensors
    let order = tensors.indices.sorted { tensors[$0].byteCount > tensors[$1].byteCount }
    let damaged = Slots<String>(count: order.count)
    let src = source
    DispatchQueue.concurrentPerform(iterations: order.count) { k in
      if !src.verifyPayload(order[k]) { damaged[k] = tensors[order[k]].name }
    }
    if let (_, name) = damaged.first { throw RuntimeError.inFile(path, .digestMismatch(name)) }
  }

  public init(_ source: any TensorSource) {
    self.source = source
    var index: [String: Int] = [:]
    for (i, t) in source.tensors.enumerated() { index[t.name] = i }
    self.index = index
  }

  /// The file the weights come from, for error messages.
  public var path: String { source.files.first?.path ?? source.format }

  public func has(_ name: String) -> Bool { index[name] != nil }

  public func shape(_ name: String) throws -> [Int] {
    guard let i = index[name] else { throw RuntimeError.missingTensor(name) }
    return source.tensors[i].shape
  }

  /// Runs `body`, naming this source's file in any RuntimeError it throws.
  public func context<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as RuntimeError {
      if case .inFile = e { throw e }
      throw RuntimeError.inFile(path, e)
    } catch let e as ConfigError {
      throw RuntimeError.inFile(path, .config(e))
    }
  }

  /// The tensor's values as f32, row-major.
  public func load(_ name: String) throws -> [Float] {
    if let o = overrides[name] { return o }
    guard let i = index[name] else { throw RuntimeError.inFile(path, .missingTensor(name)) }
    let t = source.tensors[i]
    guard let n = elementCount(t.shape) else { throw RuntimeError.inFile(path, .unsupported("\(name): shape \(t.shape) overflows")) }
    var expected = verifyDigests && !verifiedUpFront ? source.expectedDigest(i) : nil
    if expected != nil, let behind {
      behind.check(i)
      expected = nil
    }
    let codec = try QuantCodecs.layout(t.encoding, dtype: t.dtype, shape: t.shape)
    guard codec != nil || FloatConversion.readable(t.dtype) else { throw RuntimeError.unsupported("\(name): dtype \(t.dtype.rawValue) in a weight") }
    // Every path below writes all n values (or throws): no zero-fill first.
    var out = [Float](unsafeUninitializedCapacity: n) { _, count in count = n }
    try source.withPayload(i) { payload in
      // With more than one thread, the digest is computed beside the
      // conversion (they only read the payload); on one, after it.
      nonisolated(unsafe) var actual: String? = nil
      out.withUnsafeMutableBufferPointer { dst in
        nonisolated(unsafe) let dst = dst
        let convert = {
          guard let base = dst.baseAddress else { return }
          if let codec {
            Dequantizer.dequantize(payload, codec: codec, into: base)
          } else {
            FloatConversion.convert(count: n, from: t.dtype, to: .f32, input: payload, output: UnsafeMutableRawBufferPointer(dst))
          }
        }
        if expected != nil && Ops.threads > 1 {
          // nonisolated(unsafe): both iterations only read `payload`; only
          // the second writes, into `dst`; concurrentPerform joins them.
          nonisolated(unsafe) let (payload, convert) = (payload, convert)
          DispatchQueue.concurrentPerform(iterations: 2) { k in if k == 0 { actual = Digest.sha256Hex(payload) } else { convert() } }
        } else {
          convert()
          if expected != nil { actual = Digest.sha256Hex(payload) }
        }
      }
      if let expected, actual != expected { throw RuntimeError.inFile(path, .digestMismatch(name)) }
    }
    source.release(i)
    return out
  }

  /// The tensor's values, refused unless its shape is `expected`: a config
  /// that disagrees with the stored weights never reaches a kernel.
  public func load(_ name: String, shape expected: [Int]) throws -> [Float] {
    let actual = try context { try shape(name) }
    guard actual == expected else { throw RuntimeError.inFile(path, .shapeMismatch(tensor: name, expected: expected, actual: actual)) }
    return try load(name)
  }

  /// The architecture and typed config: from the container's config.json,
  /// or translated from the GGUF keys of a GGUF-born container.
  public func config() throws -> (ArchitectureSpec, ModelConfig) { try context { try findConfig() } }

  func findConfig() throws -> (ArchitectureSpec, ModelConfig) {
    if let text = source.metadata["files/config.json"] {
      let json: JSONValue
      do { json = try JSONParser.parse(Array(text.utf8)) } catch { throw ConfigError.notJSON(error.description) }
      let type = json["model_type"]?.stringValue ?? ""
      guard let spec = Architectures.spec(modelType: type) else { throw ConfigError.unknownArchitecture(type, known: Architectures.modelTypes) }
      return (spec, try spec.config(json))
    }
    // A GGUF-born container: its llama.cpp keys say the same things.
    if let architecture = source.metadata["gguf/general.architecture"] {
      guard let spec = Architectures.spec(gguf: architecture) else {
        throw ConfigError.unknownArchitecture("GGUF architecture '\(architecture)'", known: Architectures.all.compactMap(\.ggufArchitecture))
      }
      return (spec, try spec.config(gguf: source.metadata, shape: { try? self.shape($0) }))
    }
    throw RuntimeError.unsupported("no config.json in this container (convert the model folder, not the weights file)")
  }
}

public enum RuntimeError: Error, CustomStringConvertible, Equatable, ReportableError {
  case missingTensor(String)
  case unsupported(String)
  case badInput(String)
  case config(ConfigError)
  case digestMismatch(String)
  /// A weight's shape differs from what the config says it must be.
  case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
  /// The same, about the container at this path.
  indirect case inFile(String, RuntimeError)

  public var description: String {
    switch self {
    case .missingTensor(let n): "missing tensor '\(n)'"
    case .unsupported(let r): r
    case .badInput(let r): r
    case .config(let e): e.description
    case .digestMismatch(let n): "\(n): digest mismatch (damaged data; verify names every damaged tensor)"
    case .shapeMismatch(let t, let e, let a): "\(t): shape \(a), but the config needs \(e)"
    case .inFile(let path, let e): "\(path): \(e.description)"
    }
  }
}
