import IngotCore
import Foundation
import IngotCommands
import IngotContainer
import IngotPipeline
import IngotTestSupport
import Testing

@Suite struct SigningTests {
  /// A signed tiny Llama and its key pair.
  func signed(_ tmp: TempDir) throws -> String {
    _ = try ConvertAction(sources: [Fixtures.path("models/tiny-llama")], output: tmp.file("m.ingot")).run()
    _ = try KeyFiles.generate(to: tmp.file("key"), force: false)
    _ = try SignAction(path: tmp.file("m.ingot"), keyPath: tmp.file("key")).run()
    return tmp.file("m.ingot")
  }

  /// Rewrites the header with `edit`, fixing the header checksum (and, when
  /// asked, the model digest and chain head) the way a careful forger would.
  func forge(_ path: String, to out: String, fixDigests: Bool, _ edit: (inout ContainerHeader) -> Void) throws {
    let r = try ContainerReader(path: path)
    var h = r.header
    edit(&h)
    if fixDigests {
      h.modelDigest = h.computedModelDigest()
      h.provenance[h.provenance.count - 1].modelDigest = h.modelDigest
    }
    let json = h.encoded()
    var pre = r.preamble
    pre.headerLength = UInt64(json.count)
    pre.headerSHA256 = hexBytes(Digest.sha256Hex(json))
    var bytes = pre.encoded() + json
    bytes += [UInt8](repeating: 0x20, count: Int(pre.dataOffset) - bytes.count)
    bytes += try readFile(path)[Int(r.preamble.dataOffset)...]
    try writeFile(out, bytes)
  }

  /// Whether verifying `path` fails with a message containing `text`
  /// (refused when opened, or reported as a failure).
  func verifyFails(_ path: String, _ text: String) -> Bool {
    do {
      return try VerifyAction(path: path).run().failures.contains { $0.description.contains(text) }
    } catch {
      return "\(error)".contains(text)
    }
  }

  @Test func signatureVerifiesHereAndWithOpenSSL() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let path = try signed(tmp)
    let pub = try KeyFiles.publicKey(tmp.file("key.pub"))
    let report = try VerifyAction(path: path, publicKey: pub).run()
    #expect(report.ok && report.signature?.publicKey == pub)
    let r = try ContainerReader(path: path)
    let json = try #require(r.header.signature)
    let s = try #require(Signature(json: json))
    #expect(s.modelDigest == r.header.modelDigest && s.provenanceHead == r.header.provenanceHead)
    // Independent check: OpenSSL verifies the same bytes with the PEM public key.
    try writeFile(tmp.file("msg"), Signature.message(modelDigest: s.modelDigest, provenanceHead: s.provenanceHead))
    try writeFile(tmp.file("sig"), s.value)
    let ossl = try run("/usr/bin/env", ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", tmp.file("key.pub"), "-rawin", "-in", tmp.file("msg"), "-sigfile", tmp.file("sig")])
    #expect(ossl.status == 0, "\(ossl.stdout) \(ossl.stderr)")
    // Another key is refused.
    _ = try KeyFiles.generate(to: tmp.file("other"), force: false)
    let wrong = try VerifyAction(path: path, publicKey: try KeyFiles.publicKey(tmp.file("other.pub"))).run()
    #expect(!wrong.ok && wrong.failures.contains { $0.description.contains("different key") })
  }

  @Test func tamperingIsDetectedAndNamed() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let path = try signed(tmp)
    let r = try ContainerReader(path: path)
    // A changed tensor byte.
    var bytes = try readFile(path)
    let t = r.header.tensors[3]
    bytes[Int(r.preamble.dataOffset) + t.storage.offset + 5] ^= 1
    try writeFile(tmp.file("t.ingot"), bytes)
    #expect(verifyFails(tmp.file("t.ingot"), t.name))
    // A changed metadata value, model digest recomputed by the forger.
    try forge(path, to: tmp.file("m2.ingot"), fixDigests: true) { $0.metadata["files/config.json"] = "{}" }
    #expect(verifyFails(tmp.file("m2.ingot"), "signature: the signed provenance steps were edited"))
    // The same change without fixing the digest: refused when the file is opened.
    try forge(path, to: tmp.file("m3.ingot"), fixDigests: false) { $0.metadata["files/config.json"] = "{}" }
    #expect(throws: ContainerError.self) { _ = try ContainerReader(path: tmp.file("m3.ingot")) }
    // An edited provenance step (the chain head recomputed with it).
    try forge(path, to: tmp.file("p.ingot"), fixDigests: true) { $0.provenance[0].parameters["dtype"] = "bf16" }
    #expect(verifyFails(tmp.file("p.ingot"), "provenance steps were edited"))
    // The signature copied onto another file.
    _ = try ConvertAction(sources: [Fixtures.path("models/tiny-gpt2")], output: tmp.file("g.ingot")).run()
    try forge(tmp.file("g.ingot"), to: tmp.file("g2.ingot"), fixDigests: false) { $0.signature = r.header.signature }
    #expect(verifyFails(tmp.file("g2.ingot"), "signature:"))
  }

  @Test func compressAndDecompressKeepTheSignatureValid() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let path = try signed(tmp)
    let pub = try KeyFiles.publicKey(tmp.file("key.pub"))
    _ = try CompressAction(sources: [path], output: tmp.file("z.ingot"), compression: Compression()).run()
    _ = try CompressAction(sources: [tmp.file("z.ingot")], output: tmp.file("d.ingot"), compression: nil).run()
    for f in ["z.ingot", "d.ingot"] {
      let rep = try VerifyAction(path: tmp.file(f), publicKey: pub).run()
      #expect(rep.ok, "\(f): \(rep.failures)")
    }
    // A step that changes the model voids it, and says so.
    _ = try QuantizeAction(sources: [path], output: tmp.file("q.ingot"), scheme: .int8Channel()).run()
    #expect(try VerifyAction(path: tmp.file("q.ingot")).run().failures.contains { $0.description.contains("changed after signing") })
  }
}

@Suite struct CycloneDXTests {
  @Test func mlBomCarriesHashesPedigreeAndQuantization() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("models/tiny-llama")], output: tmp.file("m.ingot")).run()
    _ = try QuantizeAction(sources: [tmp.file("m.ingot")], output: tmp.file("q.ingot"), scheme: .int8Channel()).run()
    let r = try run(ingotBinary(), ["inspect", tmp.file("q.ingot"), "--format", "cyclonedx"])
    #expect(r.status == 0, "\(r.stderr)")
    let bom = try JSONParser.parse(Array(r.stdout.utf8))
    #expect(bom["bomFormat"] == "CycloneDX" && bom["specVersion"] == "1.6")
    let c = try #require(bom["components"]?.arrayValue?.first)
    #expect(c["type"] == "machine-learning-model")
    #expect(c["hashes"]?.arrayValue?.first?["content"]?.stringValue == sha256(try readFile(tmp.file("q.ingot"))))
    let ancestors = c["pedigree"]?["ancestors"]?.arrayValue ?? []
    let shaOfSource = sha256(try readFile(Fixtures.path("models/tiny-llama/model.safetensors")))
    #expect(ancestors.contains { $0["hashes"]?.arrayValue?.first?["content"]?.stringValue == shaOfSource })
    #expect(ancestors.contains { $0["type"] == "machine-learning-model" })  // the intermediate .ingot
    let props = Dictionary(uniqueKeysWithValues: (c["properties"]?.arrayValue ?? []).compactMap { p in p["name"]?.stringValue.map { ($0, p["value"]?.stringValue ?? "") } })
    #expect(props["ingot:model_digest"] == (try ContainerReader(path: tmp.file("q.ingot"))).header.modelDigest)
    #expect(props["ingot:quantization"]?.contains("int8_channel") == true)
    #expect(c["modelCard"]?["modelParameters"]?["architectureFamily"] == "llama")
    #expect(bom["serialNumber"]?.stringValue?.hasPrefix("urn:uuid:") == true)
    // Deterministic: the same file gives the same document.
    #expect(try run(ingotBinary(), ["inspect", tmp.file("q.ingot"), "--format", "cyclonedx"]).stdout == r.stdout)
  }
}
