import IngotCore
import IngotContainer


/// `ingot inspect FILE --format cyclonedx`: a CycloneDX 1.6 ML-BOM for a
/// container: one `machine-learning-model` component with the file's SHA-256,
/// its pedigree (every source file of every step as an ancestor, the steps as
/// notes) and the quantization parameters. Deterministic: no timestamps; the
/// serial number is derived from the model digest and the chain head.
public enum CycloneDX {
  public static func bom(_ path: String) throws -> JSONValue {
    let reader = try ContainerReader(path: path)
    let h = reader.header
    let fileHash = try FileHasher.sha256(path: path)
    let seed = Array(Digest.sha256Hex(Array((h.modelDigest + h.provenanceHead).utf8)).prefix(32))
    var uuid = seed.map(String.init)
    uuid[12] = "5"  // a name-based UUID
    let u = uuid.joined()
    func slice(_ a: Int, _ b: Int) -> String { String(Array(u)[a..<b]) }
    let serial = "urn:uuid:\(slice(0, 8))-\(slice(8, 12))-\(slice(12, 16))-\(slice(16, 20))-\(slice(20, 32))"

    var ancestors: [JSONValue] = []
    var seen = Set<String>()
    for step in h.provenance {
      for input in step.inputs where seen.insert(input.sha256).inserted {
        var a: [String: JSONValue] = [
          "type": .string(input.format == "ingot" ? "machine-learning-model" : "file"), "name": .string(input.path),
          "hashes": [["alg": "SHA-256", "content": .string(input.sha256)]],
          "properties": [["name": "ingot:format", "value": .string(input.format)], ["name": "ingot:size", "value": .string(String(input.size))]],
        ]
        if let d = input.modelDigest { a["properties"] = .array((a["properties"]?.arrayValue ?? []) + [["name": "ingot:model_digest", "value": .string(d)]]) }
        ancestors.append(.object(a))
      }
    }
    let notes = h.provenance.enumerated().map { i, s in
      "\(i + 1). \(s.operation) by \(s.tool) \(s.toolVersion) \(CanonicalJSON.string(.object(s.parameters))) → model digest \(s.modelDigest)"
    }.joined(separator: "\n")
    var properties: [JSONValue] = [
      ["name": "ingot:model_digest", "value": .string(h.modelDigest)],
      ["name": "ingot:provenance_head", "value": .string(h.provenanceHead)],
      ["name": "ingot:tensors", "value": .string(String(h.tensors.count))],
    ]
    let encodings = Set(h.tensors.map(\.encoding.kind)).sorted()
    properties.append(["name": "ingot:encodings", "value": .string(encodings.joined(separator: ","))])
    for step in h.provenance where step.operation == "quantize" || step.parameters["quantize"] != nil {
      let params = step.operation == "quantize" ? JSONValue.object(step.parameters) : step.parameters["quantize"] ?? .null
      properties.append(["name": "ingot:quantization", "value": .string(CanonicalJSON.string(params))])
      if let summary = step.metrics["quantize"]?["summary"] {
        properties.append(["name": "ingot:quantization_summary", "value": .string(CanonicalJSON.string(summary))])
      }
    }
    if let sig = h.signature.flatMap(Signature.init(json:)) {
      properties.append(["name": "ingot:signature_ed25519_public_key", "value": .string(Base64.encode(sig.publicKey))])
      properties.append(["name": "ingot:signature_signed_steps", "value": .string(String(sig.signedSteps))])
    }
    var component: [String: JSONValue] = [
      "type": "machine-learning-model", "bom-ref": "model", "name": .string(baseName(path)),
      "hashes": [["alg": "SHA-256", "content": .string(fileHash)]],
      "pedigree": ["ancestors": .array(ancestors), "notes": .string(notes)],
      "properties": .array(properties),
    ]
    if let config = reader.metadata["files/config.json"], let c = try? JSONParser.parse(Array(config.utf8)) {
      var params: [String: JSONValue] = [:]
      if let t = c["model_type"]?.stringValue { params["architectureFamily"] = .string(t) }
      if let a = c["architectures"]?.arrayValue?.first?.stringValue { params["modelArchitecture"] = .string(a) }
      if !params.isEmpty { component["modelCard"] = ["modelParameters": .object(params)] }
    }
    return [
      "bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": .string(serial), "version": 1,
      "metadata": [
        "tools": ["components": [["type": "application", "name": "ingot", "version": .string(IngotVersion.string)]]],
        "component": ["type": "machine-learning-model", "bom-ref": "model", "name": .string(baseName(path))],
      ],
      "components": [.object(component)],
    ]
  }
}
