import IngotCore
import Dispatch
import IngotContainer

/// `ingot verify`: recomputes every tensor digest and the model digest, and
/// checks the provenance chain and the padding. Opening the file already
/// checks header checksum, schema, bounds, model digest and chain.
public struct VerifyAction: Sendable {
  public struct Report: Sendable {
    public var file: String
    public var modelDigest: String
    public var tensorCount: Int
    public var bytesChecked: Int
    public var signature: Signature?
    public var failures: [ContainerError]
    public var ok: Bool { failures.isEmpty }

    public var json: JSONValue {
      [
        "file": .string(file), "ok": .bool(ok), "model_digest": .string(modelDigest),
        "tensors_checked": .int(Int64(tensorCount)), "bytes_checked": .int(Int64(bytesChecked)),
        "failures": .array(failures.map { .string($0.description) }),
        "signature": signature.map { s in
          ["public_key": .string(Base64.encode(s.publicKey)), "signed_steps": .int(Int64(s.signedSteps))] as JSONValue
        } ?? .null,
      ]
    }
  }

  public var path: String
  /// With a key, a signature made by it is required.
  public var publicKey: [UInt8]?
  public init(path: String, publicKey: [UInt8]? = nil) {
    self.path = path
    self.publicKey = publicKey
  }

  public func run() throws -> Report {
    let reader = try ContainerReader(path: path)
    let count = reader.header.tensors.count
    let results = Slots<ContainerError>(count: count)
    // Big tensors first so the two cores finish together.
    let order = reader.header.tensors.indices.sorted { reader.header.tensors[$0].storage.length > reader.header.tensors[$1].storage.length }
    DispatchQueue.concurrentPerform(iterations: count) { k in
      let i = order[k]
      if let e = reader.verifyTensor(i) { results[i] = e }
    }
    var failures = (0..<count).compactMap { results[$0] }
    if let padding = reader.verifyPadding() { failures.append(padding) }
    var signature: Signature? = nil
    if let json = reader.header.signature {
      if let s = Signature(json: json) {
        signature = s
        if let e = s.check(reader.header, file: path, expectedKey: publicKey) { failures.append(e) }
      } else {
        failures.append(.signature(file: path, reason: "malformed signature section"))
      }
    } else if publicKey != nil {
      failures.append(.signature(file: path, reason: "not signed, and --public-key asks for a signature"))
    }
    return Report(
      file: path, modelDigest: reader.header.modelDigest, tensorCount: count,
      bytesChecked: reader.header.tensors.reduce(0) { $0 + $1.storage.length }, signature: signature, failures: failures)
  }

  public static func summary(_ r: Report) -> String {
    if r.ok {
      let signed = r.signature.map { "; signed by Ed25519 key \(Base64.encode($0.publicKey)) over steps 1–\($0.signedSteps)" } ?? ""
      return "ok: \(r.file): \(r.tensorCount) tensor digests, model digest \(r.modelDigest), provenance chain intact" + signed
    }
    return (r.failures.map { "FAIL \($0)" } + ["\(r.failures.count) problem(s) in \(r.file)"]).map { terminalSafe($0) }.joined(separator: "\n")
  }
}

#if canImport(Glibc)
  import Glibc
#endif
