import IngotArchitectures
import IngotContainer
import IngotCore
import IngotFormats
import IngotPipeline
import IngotTokenizers

#if canImport(Glibc)
  import Glibc
#endif

/// What every harness does with libFuzzer's bytes: write them to a file in
/// memory (the parsers read memory maps of paths) and hand that path over.
/// Errors are the expected outcome; a trap, a sanitizer report, a hang or an
/// allocation over libFuzzer's -rss_limit_mb is a finding.
public enum Harness {
  public static func withFile(_ data: UnsafePointer<UInt8>, _ size: Int, ext: String, _ body: (String) throws -> Void) -> Int32 {
    let path = "/dev/shm/ingot-fuzz-\(getpid())" + ext
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { return 0 }
    var at = 0
    while at < size {
      let n = write(fd, data + at, size - at)
      if n <= 0 { break }
      at += n
    }
    close(fd)
    do { try body(path) } catch {}
    return 0
  }

  /// Opens any input format and reads every tensor's payload, digesting it
  /// (touching every byte), as convert would.
  public static func readAll(_ source: any TensorSource) throws {
    for i in source.tensors.indices where source.tensors[i].byteCount <= 256 << 20 {
      _ = try source.withPayload(i) { Digest.sha256Hex($0) }
    }
  }

  public static func source(_ path: String) throws {
    try readAll(try Inputs.open([path]))
  }

  /// A GGUF file as convert reads it, then its `{arch}.*` keys through
  /// every architecture's translation into the typed config (what a
  /// GGUF-born container's forward pass starts from), and the rotary
  /// frequencies that config implies.
  /// Texts every tokenizer harness encodes: scripts, combining marks,
  /// digits, whitespace runs and added-token look-alikes.
  static let texts = ["Hello, world! It's 2026: don't   stop.\n\n\tTabs", "Привет мир, 你好世界, 안녕하세요, नमस्ते, مرحبا",
                      "e\u{301}e\u{301} Ω K ǅ 1234567 <s></s>[CLS]<|endoftext|>", ""]

  /// A tokenizer built from `bytes` (tokenizer.json), run on the texts, the
  /// input itself, and back.
  public static func tokenizer(_ bytes: UnsafeRawBufferPointer) {
    guard let t = try? Tokenizer(json: bytes, file: "fuzz.json") else { return }
    exercise(t, extra: String(decoding: bytes.prefix(4096), as: UTF8.self))
  }

  static func exercise(_ t: Tokenizer, extra: String) {
    for text in texts + [extra] {
      let ids = t.encode(text)
      _ = try? t.decode(ids)
      _ = try? t.decode(ids, skipSpecialTokens: true)
    }
  }

  public static func ggufSource(_ path: String) throws {
    let source = try Inputs.open([path])
    // The GGUF's vocabulary, built and run as `ingot tokenize` does.
    if let file = try? GGUFFile(path: path) {
      var meta: [String: JSONValue] = [:]
      for (k, v) in file.metadata where k.hasPrefix("tokenizer.") { meta[k] = v }
      if let t = try? Tokenizer(gguf: { meta[$0] }, file: path) { exercise(t, extra: "") }
    }
    let shapes = Dictionary(source.tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
    for spec in Architectures.all where spec.ggufArchitecture != nil {
      // (The pass checks head_dim against the weights before it sizes its tables.)
      guard let config = try? spec.config(gguf: source.metadata, shape: { shapes[$0] }), config.headDim <= 1 << 16 else { continue }
      _ = config.rope.inverseFrequencies(dims: config.headDim, factors: nil)
      _ = config.localRope?.inverseFrequencies(dims: config.headDim, factors: nil)
    }
    try readAll(source)
    // Block tensors stay in ggml's bytes: dequantize them too, as the
    // forward pass and export --to safetensors would.
    let dequantize = DequantizeStage()
    for i in source.tensors.indices where !source.tensors[i].encoding.isRaw && source.tensors[i].byteCount <= 16 << 20 {
      let t = source.tensors[i]
      guard let out = try? dequantize.plan(t), out.byteCount <= 64 << 20 else { continue }
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(out.byteCount, 1), alignment: 16)
      defer { buffer.deallocate() }
      _ = try source.withPayload(i) { try dequantize.apply(from: t, to: out, input: $0, output: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<out.byteCount])) }
    }
  }
}
