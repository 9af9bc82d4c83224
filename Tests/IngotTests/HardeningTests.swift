import Foundation
import IngotArchitectures
import IngotCommands
import IngotContainer
import IngotCore
import IngotFormats
import IngotPipeline
import IngotRuntime
import IngotTestSupport
import Testing
import CZlib
#if canImport(Glibc)
  import Glibc
#endif

/// Crafted inputs, one class of attack per test (issue: hardening). Each
/// builds its file here, so the class is tested, not one instance of it.
@Suite struct HardeningTests {
  func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

  func refusal(_ paths: [String]) -> Error? {
    do { _ = try Inputs.open(paths) } catch { return error }
    return nil
  }

  /// Tuples 100k deep are refused at a stated depth; lists and dicts nested
  /// 200k deep (through APPEND and SETITEM) are freed without recursion.
  @Test func deeplyNestedPicklesNeitherOverflowTheStackNorPass() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let tuples: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 100_000) + [0x2E]
    try writeFile(tmp.file("tuples.pkl"), tuples)
    if case .limit(_, _, _, Limits.maxPickleTupleDepth)? = refusal([tmp.file("tuples.pkl")]) as? PyTorchError {} else {
      Issue.record("tuples: \(String(describing: refusal([tmp.file("tuples.pkl")])))")
    }
    let n = 200_000
    let lists: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x5D, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2E]
    var dicts: [UInt8] = [0x80, 0x02]
    for _ in 0..<n { dicts += [0x7D, 0x4B, 0x01] }  // EMPTY_DICT, BININT1 1 (the key for the next one)
    dicts.removeLast(2)
    dicts += [UInt8](repeating: 0x73, count: n - 1) + [0x2E]
    // A list appended to itself through the memo (a cycle), and a dict set
    // into itself: refused or not, they must not leak (LeakSanitizer in
    // tools/fuzz found the first).
    let cycle: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]
    let selfDict: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x4B, 0x01, 0x68, 0x00, 0x73, 0x2E]
    for (name, bytes) in [("lists.pkl", lists), ("dicts.pkl", dicts), ("cycle.pkl", cycle), ("self.pkl", selfDict)] {
      try writeFile(tmp.file(name), bytes)
      // Dicts stop at the name walk's depth limit; lists hold no tensors.
      let e = refusal([tmp.file(name)]) as? PyTorchError
      switch e {
      case .noTensors?, .nestedTooDeep?: break
      default: Issue.record("\(name): \(String(describing: e))")
      }
    }
  }

  // MARK: builders for crafted files

  func str(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }

  func gguf(kvs: [[UInt8]], tensors: [(String, [UInt64], UInt32, UInt64)], data: Int = 256) -> [UInt8] {
    var b = Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(tensors.count)) + le(UInt64(kvs.count))
    for kv in kvs { b += kv }
    for (name, dims, type, offset) in tensors { b += str(name) + le(UInt32(dims.count)) + dims.flatMap { le($0) } + le(type) + le(offset) }
    while b.count % 32 != 0 { b.append(0) }
    return b + [UInt8](repeating: 0, count: data)
  }

  func safetensors(_ tensors: [(String, [Float])], rows: Int = 1) -> [UInt8] {
    var header: [String: JSONValue] = [:], data: [UInt8] = []
    for (name, values) in tensors {
      let bytes = values.flatMap { le($0.bitPattern) }
      let shape = rows > 1 ? [rows, values.count / rows] : [values.count]
      header[name] = ["dtype": "F32", "shape": .ints(shape), "data_offsets": .ints([data.count, data.count + bytes.count])]
      data += bytes
    }
    var h = CanonicalJSON.encode(.object(header))
    while h.count % 8 != 0 { h.append(0x20) }
    return le(UInt64(h.count)) + h + data
  }

  /// A zip of members (name, bytes stored or raw deflate with a declared size).
  func zip(_ members: [(name: String, data: [UInt8], method: UInt16, size: Int, crc: UInt32)], sharedData: Bool = false) -> [UInt8] {
    var out: [UInt8] = [], central: [UInt8] = []
    var firstLocal = 0
    for (i, m) in members.enumerated() {
      let local = sharedData && i > 0 ? firstLocal : out.count
      if !(sharedData && i > 0) {
        firstLocal = out.count
        out += le(UInt32(0x0403_4B50)) + le(UInt16(20)) + le(UInt16(0)) + le(m.method) + le(UInt32(0)) + le(m.crc)
          + le(UInt32(m.data.count)) + le(UInt32(truncatingIfNeeded: m.size)) + le(UInt16(m.name.utf8.count)) + le(UInt16(0)) + Array(m.name.utf8) + m.data
      }
      central += le(UInt32(0x0201_4B50)) + le(UInt16(20)) + le(UInt16(20)) + le(UInt16(0)) + le(m.method) + le(UInt32(0)) + le(m.crc)
        + le(UInt32(m.data.count)) + le(UInt32(truncatingIfNeeded: m.size)) + le(UInt16(m.name.utf8.count)) + le(UInt16(0)) + le(UInt16(0))
        + le(UInt32(0)) + le(UInt32(0)) + le(UInt32(local)) + Array(m.name.utf8)
    }
    let cdOffset = out.count
    out += central
    out += le(UInt32(0x0605_4B50)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(members.count)) + le(UInt16(members.count))
      + le(UInt32(central.count)) + le(UInt32(cdOffset)) + le(UInt16(0))
    return out
  }

  func crc(_ b: [UInt8]) -> UInt32 { UInt32(b.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }) }

  func deflate(_ input: UnsafeRawBufferPointer) -> [UInt8] {
    var s = z_stream()
    deflateInit2_(&s, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    defer { deflateEnd(&s) }
    var out = [UInt8](repeating: 0, count: Int(deflateBound(&s, uLong(input.count))))
    s.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
    s.avail_in = uInt(input.count)
    out.withUnsafeMutableBufferPointer { o in
      s.next_out = o.baseAddress
      s.avail_out = uInt(o.count)
      _ = CZlib.deflate(&s, Z_FINISH)
    }
    return Array(out[0..<Int(s.total_out)])
  }

  func npyHeader(shape: Int, descr: String = "<f4") -> [UInt8] {
    var d = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(shape),), }".utf8)
    while (10 + d.count + 1) % 64 != 0 { d.append(0x20) }
    d.append(0x0A)
    return [0x93] + Array("NUMPY".utf8) + [1, 0] + le(UInt16(d.count)) + d
  }

  /// tiny-llama's folder with config.json edited.
  func llamaFolder(_ tmp: TempDir, _ name: String, _ edit: (inout [String: JSONValue]) -> Void) throws -> String {
    let dir = tmp.file(name)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for f in ["model.safetensors", "generation_config.json"] {
      try FileManager.default.copyItem(atPath: Fixtures.path("models/tiny-llama/" + f), toPath: dir + "/" + f)
    }
    var config = try JSONParser.parse(try readFile(Fixtures.path("models/tiny-llama/config.json"))).objectValue ?? [:]
    edit(&config)
    try writeFile(dir + "/config.json", CanonicalJSON.encode(.object(config)))
    return dir
  }

  // MARK: 1, 5: configs that disagree with arithmetic or with the weights

  /// Every such config is refused by a typed error naming the key (or the
  /// tensor whose shape disagrees) before any kernel runs.
  @Test func impossibleConfigsAreRefusedBeforeAnyKernelRuns() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let edits: [(String, JSONValue)] = [
      ("num_attention_heads", 0), ("num_key_value_heads", 0), ("num_key_value_heads", 3), ("hidden_size", -5),
      ("hidden_size", .int(1 << 40)), ("head_dim", .int(1 << 61)), ("vocab_size", 0), ("vocab_size", -5),
      ("vocab_size", 10), ("intermediate_size", 100_000), ("num_hidden_layers", 3), ("head_dim", 7),
    ]
    // Factors that pass alone but whose product overflows (heads × head_dim).
    let big = try llamaFolder(tmp, "big") {
      $0["num_attention_heads"] = .int(1 << 39)
      $0["num_key_value_heads"] = .int(1 << 39)
      $0["head_dim"] = .int(1 << 39)
    }
    _ = try ConvertAction(sources: [big], output: tmp.file("big.ingot")).run()
    #expect { _ = try ForwardAction(input: tmp.file("big.ingot"), tokens: [1, 2, 3]).run() } throws: { error in
      if case .inFile(_, .config(.outOfRange))? = error as? RuntimeError { return true }
      return false
    }
    for (i, (key, value)) in edits.enumerated() {
      let dir = try llamaFolder(tmp, "m\(i)") { $0[key] = value }
      _ = try ConvertAction(sources: [dir], output: tmp.file("m\(i).ingot")).run()
      var refused = false
      do { _ = try ForwardAction(input: tmp.file("m\(i).ingot"), tokens: [1, 2, 3]).run() } catch let e as RuntimeError {
        switch e {
        case .inFile(_, .config), .inFile(_, .shapeMismatch), .inFile(_, .missingTensor), .inFile(_, .badInput): refused = true
        default: break
        }
      }
      #expect(refused, "\(key) = \(value)")
      #expect(throws: (any Error).self, "\(key) = \(value)") {
        _ = try ValidateAction(base: tmp.file("m\(i).ingot"), candidate: tmp.file("m\(i).ingot"), tokens: [[1, 2, 3]]).run()
      }
    }
    // A token id outside the (consistent) vocabulary.
    _ = try ConvertAction(sources: [Fixtures.path("models/tiny-llama")], output: tmp.file("ok.ingot")).run()
    #expect { _ = try ForwardAction(input: tmp.file("ok.ingot"), tokens: [1, 320]).run() } throws: { error in
      if case .inFile(_, .badInput)? = error as? RuntimeError { return true }
      if case .badInput? = error as? RuntimeError { return true }
      return false
    }
  }

  /// GGUF model keys: a head count of 2^62 or a kv-head count of 0 is
  /// refused on convert (the q/k un-permutation divides by them).
  @Test func ggufHeadCountsAreCheckedBeforeTheUnpermutation() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    func u64(_ k: String, _ v: UInt64) -> [UInt8] { str(k) + le(UInt32(10)) + le(v) }
    for (heads, kv) in [(UInt64(1) << 62, UInt64(1)), (4, 0), (0, 0), (4, 3)] {
      let kvs = [str("general.architecture") + le(UInt32(8)) + str("llama"), u64("llama.attention.head_count", heads), u64("llama.attention.head_count_kv", kv)]
      try writeFile(tmp.file("m.gguf"), gguf(kvs: kvs, tensors: [("blk.0.attn_q.weight", [32, 8], 0, 0), ("blk.0.attn_k.weight", [32, 8], 0, 1024)], data: 2048))
      #expect(throws: GGUFError.self, "heads \(heads) kv \(kv)") { _ = try ConvertAction(sources: [tmp.file("m.gguf")], output: tmp.file("m.ingot")).run() }
      #expect(!FileManager.default.fileExists(atPath: tmp.file("m.ingot")))
    }
  }

  // MARK: 3, 16: container headers whose sizes overflow or lie

  @Test func quantLayoutsChunkCountsAndRatiosCannotOverflowOrExplode() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let plain = try convertFixture("models/tiny-llama", into: tmp)
    _ = try QuantizeAction(sources: [plain.path], output: tmp.file("q8.ingot"), scheme: .int8Block()).run()
    _ = try QuantizeAction(sources: [plain.path], output: tmp.file("qc.ingot"), scheme: .int8Channel()).run()
    _ = try CompressAction(sources: [plain.path], output: tmp.file("z.ingot"), compression: Compression()).run()
    func edited(_ path: String, _ edit: (inout [JSONValue]) -> Void) throws -> ContainerError? {
      let r = try ContainerReader(path: path)
      guard var h = r.header.json.objectValue, var tensors = h["tensors"]?.arrayValue else { return nil }
      edit(&tensors)
      h["tensors"] = .array(tensors)
      return try reopenWithHeader(r, .object(h), at: tmp.file("x.ingot"))
    }
    func setFirstQuantized(_ shape: [Int]) -> (inout [JSONValue]) -> Void {
      { tensors in
        guard let i = tensors.firstIndex(where: { $0["encoding"]?["kind"]?.stringValue != "raw" }), var t = tensors[i].objectValue else { return }
        t["shape"] = .ints(shape)
        tensors[i] = .object(t)
      }
    }
    for (file, shape) in [("q8.ingot", [1, Int.max - 31]), ("qc.ingot", [1 << 60, 7]), ("q8.ingot", [1 << 62, 1 << 62]), ("qc.ingot", [Int.max, 1])] {
      let e = try edited(tmp.file(file), setFirstQuantized(shape))
      switch e {
      case .invalidTensor?, .invalidStorage?: break
      default: Issue.record("\(file) \(shape): \(String(describing: e))")
      }
    }
    // Chunk tables: a payload length near Int.max, and RLE-sized chunks
    // declaring a 4 GiB tensor (64 chunks of 64 MiB, 2067 bytes each, what
    // zstd makes of 64 MiB of zeros).
    func setData(_ body: @escaping (inout [String: JSONValue], inout [String: JSONValue]) -> Void) -> (inout [JSONValue]) -> Void {
      { tensors in
        guard var t = tensors[1].objectValue, var d = t["data"]?.objectValue else { return }
        body(&t, &d)
        t["data"] = .object(d)
        tensors[1] = .object(t)
      }
    }
    let nearMax = try edited(tmp.file("z.ingot"), setData { t, d in
      t["shape"] = .ints([Int.max / 4])
      d["encoded_length"] = .int(Int64(Int.max / 4 * 4))
    })
    switch nearMax {
    case .invalidStorage?, .invalidTensor?: break
    default: Issue.record("near Int.max: \(String(describing: nearMax))")
    }
    let bomb = try edited(tmp.file("z.ingot"), setData { t, d in
      t["shape"] = .ints([1 << 30])
      d["encoded_length"] = .int(1 << 32)
      d["chunk_size"] = .int(64 << 20)
      d["chunks"] = .array([JSONValue](repeating: .ints([2067, 0]), count: 64))
      d["length"] = .int(2067 * 64)
    })
    if case .invalidStorage(_, _, "chunks", _)? = bomb {} else { Issue.record("ratio: \(String(describing: bomb))") }
  }

  /// Zeros compress past the ratio readers accept: the writer pads each such
  /// chunk with a skippable frame, and the file reads back bit-exactly, here
  /// and in the independent Python reader (crosscheck reads compressed files).
  @Test func highlyCompressibleTensorsStayWithinTheRatio() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    try writeFile(tmp.file("zeros.safetensors"), safetensors([("z", [Float](repeating: 0, count: 1 << 20)), ("w", (0..<4096).map { Float($0) })]))
    _ = try ConvertAction(sources: [tmp.file("zeros.safetensors")], output: tmp.file("a.ingot")).run()
    _ = try CompressAction(sources: [tmp.file("a.ingot")], output: tmp.file("z.ingot"), compression: Compression()).run()
    let r = try ContainerReader(path: tmp.file("z.ingot"))
    #expect(try VerifyAction(path: r.path).run().ok)
    for t in r.header.tensors {
      for (i, c) in (t.storage.chunks?.chunks ?? []).enumerated() where !c.raw {
        let decoded = t.storage.chunks!.decodedRange(i).count  // audited: inside the loop over them
        #expect(c.stored * Limits.maxDecompressionRatio >= decoded, "\(t.name) chunk \(i)")
      }
    }
    let values = try r.withPayload(r.header.tensors.firstIndex { $0.name == "z" }!) { Array($0) }  // audited: written above
    #expect(values.count == 4 << 20 && values.allSatisfy { $0 == 0 })
    let py = try run("/usr/bin/env", ["python3", Fixtures.repoRoot + "/tools/ingot_read.py", r.path, "--verify"])
    if py.stderr.contains("No module named") { return }  // numpy or zstandard absent: the crosscheck reports it
    #expect(py.status == 0, "\(py.stdout) \(py.stderr)")
  }

  // MARK: 4: torch views and allocations

  /// A state dict {"w": tensor} whose view has this storage offset, shape and stride.
  func torchZip(offset: UInt64, shape: [Int], stride: [Int], storage: [UInt8]) -> [UInt8] {
    func text(_ s: String) -> [UInt8] { [0x58] + le(UInt32(s.utf8.count)) + Array(s.utf8) }
    func ints(_ v: [Int]) -> [UInt8] { [0x28] + v.flatMap { [0x4A] + le(Int32($0)) } + [0x74] }
    var p: [UInt8] = [0x80, 0x02, 0x7D, 0x28] + text("w") + Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28, 0x28]
    p += text("storage") + Array("ctorch\nFloatStorage\n".utf8) + text("0") + text("cpu") + [0x4B, UInt8(storage.count / 4), 0x74, 0x51]
    p += [0x8A, 0x08] + le(offset) + ints(shape) + ints(stride) + [0x89, 0x74, 0x52, 0x75, 0x2E]
    return zip([("archive/data.pkl", p, 0, p.count, crc(p)), ("archive/data/0", storage, 0, storage.count, crc(storage)),
                ("archive/version", Array("3\n".utf8), 0, 2, crc(Array("3\n".utf8)))])
  }

  @Test func emptyViewsFarOutsideTheirStorageAreRefused() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let storage = [UInt8](repeating: 0, count: 16)
    try writeFile(tmp.file("ok.pt"), torchZip(offset: 0, shape: [4], stride: [1], storage: storage))
    #expect(refusal([tmp.file("ok.pt")]) == nil)
    for (offset, shape) in [(UInt64(1) << 62, [0]), (UInt64(1) << 62, [4]), (UInt64(5), [0]), (UInt64(1), [4])] {
      try writeFile(tmp.file("v.pt"), torchZip(offset: offset, shape: shape, stride: [1], storage: storage))
      if case .viewOutOfBounds? = refusal([tmp.file("v.pt")]) as? PyTorchError {} else {
        Issue.record("offset \(offset) shape \(shape): \(String(describing: refusal([tmp.file("v.pt")])))")
      }
    }
    // An empty view at the storage's end is valid, and reads as nothing.
    try writeFile(tmp.file("e.pt"), torchZip(offset: 4, shape: [0], stride: [1], storage: storage))
    let source = try Inputs.open([tmp.file("e.pt")])
    #expect(try source.withPayload(0) { $0.count } == 0)
  }

  /// What a file declares may be more than memory allows: a typed error.
  @Test func anUnallocatableSizeIsAnErrorNotAnAbort() {
    #expect(throws: FileError.outOfMemory(file: "f", bytes: 1 << 62)) { _ = try allocateBuffer(1 << 62, file: "f") }
    #expect(throws: FileError.outOfMemory(file: "f", bytes: -1)) { _ = try allocateBuffer(-1, file: "f") }
  }

  // MARK: 8: every consumer checks digests

  @Test func validateAndDiffRefuseATamperedPayload() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let good = try convertFixture("models/tiny-llama", into: tmp, as: "good.ingot")
    let bad = try convertFixture("models/tiny-llama", into: tmp, as: "bad.ingot")
    try damagePayload(bad, tensor: "model.layers.1.self_attn.v_proj.weight", byte: 9, mask: 0x20)
    func names(_ e: Error) -> Bool { "\(e)".contains("model.layers.1.self_attn.v_proj.weight") && "\(e)".contains("digest") }
    #expect { _ = try ValidateAction(base: good.path, candidate: bad.path, tokens: [[1, 2, 3]]).run() } throws: { names($0) }
    #expect { _ = try DiffAction(a: [good.path], b: [bad.path]).run() } throws: { names($0) }
    var unchecked = DiffAction(a: [good.path], b: [bad.path])
    unchecked.verify = false
    _ = try unchecked.run()
  }

  // MARK: 9: signatures cover exactly what is stored

  @Test func fieldsASignatureWouldNotCoverAreRefused() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let reader = try convertFixture("models/tiny-llama", into: tmp)
    _ = try KeyFiles.generate(to: tmp.file("key"), force: false)
    _ = try SignAction(path: reader.path, keyPath: tmp.file("key")).run()
    let signed = try ContainerReader(path: reader.path)
    #expect(try VerifyAction(path: signed.path).run().ok)
    let edits: [(String, (inout [String: JSONValue]) -> Void)] = [
      ("unknown field", { $0["approved_by"] = "someone" }), ("note of the wrong type", { $0["note"] = 5 }),
      ("timestamp of the wrong type", { $0["timestamp"] = .array([]) }),
      ("unknown input field", { s in
        if var inputs = s["inputs"]?.arrayValue, var first = inputs.first?.objectValue {
          first["origin"] = "elsewhere"
          inputs[0] = .object(first)
          s["inputs"] = .array(inputs)
        }
      }),
    ]
    for (what, edit) in edits {
      guard var h = signed.header.json.objectValue, var steps = h["provenance"]?.arrayValue, var step = steps[0].objectValue else { return }
      edit(&step)
      steps[0] = .object(step)
      h["provenance"] = .array(steps)
      // The forger recomputes the head over the steps as stored.
      h["provenance_head"] = .string(Digest.sha256Hex(CanonicalJSON.encode(.array(steps))))
      let e = try reopenWithHeader(signed, .object(h), at: tmp.file("x.ingot"))
      if case .provenance? = e {} else { Issue.record("\(what): \(String(describing: e))") }
    }
  }

  // MARK: 10: model folders

  @Test func filesAModelFolderNamesMustResolveInsideIt() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let fm = FileManager.default
    try writeFile(tmp.file("secret.txt"), Array("SECRET\n".utf8))
    // A companion file, then a shard, linked to a file outside the folder.
    let a = try llamaFolder(tmp, "a") { _ in }
    try fm.createSymbolicLink(atPath: a + "/vocab.txt", withDestinationPath: tmp.file("secret.txt"))
    let b = try llamaFolder(tmp, "b") { _ in }
    try fm.moveItem(atPath: b + "/model.safetensors", toPath: tmp.file("outside.safetensors"))
    try fm.createSymbolicLink(atPath: b + "/model.safetensors", withDestinationPath: tmp.file("outside.safetensors"))
    for dir in [a, b] {
      if case .outsideFolder? = refusal([dir]) as? FileError {} else { Issue.record("\(dir): \(String(describing: refusal([dir])))") }
    }
    // Links inside the folder are fine, and so is Hugging Face's cache
    // layout (snapshot files linked into the repo's blobs/).
    let c = try llamaFolder(tmp, "c") { _ in }
    try fm.moveItem(atPath: c + "/generation_config.json", toPath: c + "/gen.json")
    try fm.createSymbolicLink(atPath: c + "/generation_config.json", withDestinationPath: "gen.json")
    #expect(refusal([c]) == nil)
    let repo = tmp.file("hub/models--x--tiny")
    try fm.createDirectory(atPath: repo + "/blobs", withIntermediateDirectories: true)
    try fm.createDirectory(atPath: repo + "/snapshots/abc123", withIntermediateDirectories: true)
    for (i, f) in ["config.json", "model.safetensors"].enumerated() {
      try fm.copyItem(atPath: Fixtures.path("models/tiny-llama/" + f), toPath: repo + "/blobs/b\(i)")
      try fm.createSymbolicLink(atPath: repo + "/snapshots/abc123/" + f, withDestinationPath: "../../blobs/b\(i)")
    }
    #expect(refusal([repo + "/snapshots/abc123"]) == nil)
  }

  /// A FIFO as a shard or as ONNX external data is refused at once (open
  /// does not wait for a writer).
  @Test(.timeLimit(.minutes(1))) func fifosAreRefusedWithoutBlocking() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let dir = try llamaFolder(tmp, "f") { _ in }
    try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
    #expect(mkfifo(dir + "/model.safetensors", 0o600) == 0)
    #expect(throws: (any Error).self) { _ = try Inputs.open([dir]) }
    #expect(mkfifo(tmp.file("pipe.safetensors"), 0o600) == 0)
    #expect(throws: FileError.notRegularFile(file: tmp.file("pipe.safetensors"))) { _ = try MappedFile(path: tmp.file("pipe.safetensors")) }
  }

  // MARK: 11: export writes only what it owns

  /// A container whose header was rewritten (digests made consistent again).
  func forged(_ reader: ContainerReader, to path: String, _ edit: (inout ContainerHeader) -> Void) throws -> ContainerReader {
    var h = reader.header
    edit(&h)
    h.modelDigest = h.computedModelDigest()
    h.provenance[h.provenance.count - 1].modelDigest = h.modelDigest
    if let e = try reopenWithHeader(reader, h.json, at: path) { throw e }
    return try ContainerReader(path: path)
  }

  @Test func exportWritesOnlyItsOwnFilesAndNothingWhenItRefuses() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let fm = FileManager.default
    let plain = try convertFixture("models/tiny-llama", into: tmp)
    let evil = try forged(plain, to: tmp.file("evil.ingot")) {
      $0.metadata["files/model.safetensors"] = "not weights"
      $0.metadata["files/run.sh"] = "#!/bin/sh\n"
    }
    let out = try ExportAction(input: evil.path, output: tmp.file("out/")).run()
    #expect(Set(out.skipped) == ["model.safetensors", "run.sh"])
    #expect(!fm.fileExists(atPath: tmp.file("out/run.sh")))
    #expect(try SafetensorsFile(path: tmp.file("out/model.safetensors")).entries.count == plain.header.tensors.count)
    // An existing companion without --force: refused before the weights are written.
    try fm.createDirectory(atPath: tmp.file("busy"), withIntermediateDirectories: true)
    try writeFile(tmp.file("busy/config.json"), Array("{}".utf8))
    #expect(throws: FileError.exists(file: tmp.file("busy") + "/config.json")) { _ = try ExportAction(input: plain.path, output: tmp.file("busy/")).run() }
    #expect(try fm.contentsOfDirectory(atPath: tmp.file("busy")) == ["config.json"])
    // A failure mid-way (a damaged tensor) removes the folder it created.
    try damagePayload(plain, tensor: "model.norm.weight", byte: 0, mask: 1)
    #expect(throws: (any Error).self) { _ = try ExportAction(input: plain.path, output: tmp.file("new/")).run() }
    #expect(!fm.fileExists(atPath: tmp.file("new")))
  }

  // MARK: 12: terminal output

  @Test func namesCannotDrawOnTheTerminal() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let name = "w\u{1B}[2K\rok: all tensor digests verified\u{1B}[8m\nFAKE\u{202E}x\u{9B}"
    try writeFile(tmp.file("e.safetensors"), safetensors([(name, [1, 2, 3, 4])]))
    let convert = try run(ingotBinary(), ["convert", tmp.file("e.safetensors"), "-o", tmp.file("e.ingot")])
    #expect(convert.status == 0, "\(convert.stderr)")
    try damagePayload(try ContainerReader(path: tmp.file("e.ingot")), tensor: name, byte: 0, mask: 1)
    for args in [["inspect", tmp.file("e.ingot")], ["verify", tmp.file("e.ingot")], ["inspect", tmp.file("e.safetensors")],
                 ["export", tmp.file("e.ingot"), "-o", tmp.file("x.safetensors")]] {
      let r = try run(ingotBinary(), args)
      for text in [r.stdout, r.stderr] {
        #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x0D || $0.value == 0x9B || $0.value == 0x202E }, "\(args[0])")
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("FAKE") }, "\(args[0]): a name's newline started a line")
      }
    }
    #expect(terminalSafe("a\u{1B}b\nc", newlines: true) == "a\\u{1b}b\nc")
    // JSON output stays valid JSON, with the same names, and inert.
    let json = try run(ingotBinary(), ["inspect", "--json", tmp.file("e.safetensors")])
    #expect(!json.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x9B || $0.value == 0x202E })
    let parsed = try JSONParser.parse(Array(json.stdout.utf8))
    #expect(parsed["tensors"]?.arrayValue?.first?["name"]?.stringValue == name)
  }

  // MARK: 13: canonical JSON numbers, against Python itself

  @Test func canonicalFloatsAreWhatPythonWrites() throws {
    var rng = SplitMix64(seed: 13)
    var values: [Double] = [9.5e15, 1e16, 9.999999999999998e15, 1e15, 123456789012345678, 1e-5, 1e-4, 0.0001234, 5e-324, 1.7976931348623157e308, -0.0, 0.1, 2.5, -9.5e15]
    for _ in 0..<3000 {
      let bits = rng.next()
      let d = Double(bitPattern: bits)
      if d.isFinite { values.append(d) }
      // Magnitudes around the exponent-form switches.
      values.append(Double(Int64(bitPattern: rng.next() >> 10)) * (rng.next() % 2 == 0 ? 1 : 1e-3))
    }
    let hex = values.map { String($0.bitPattern, radix: 16) }.joined(separator: " ")
    let script = "import struct,sys\nfor h in sys.argv[1].split(): print(repr(struct.unpack('<d', int(h, 16).to_bytes(8, 'little'))[0]))"
    let r = try run("/usr/bin/env", ["python3", "-c", script, hex])
    try #require(r.status == 0, "python3: \(r.stderr)")
    let python = r.stdout.split(separator: "\n").map(String.init)
    #expect(python.count == values.count)
    var mismatches = 0
    for (d, p) in Swift.zip(values, python) where CanonicalJSON.string(.double(d)) != p {
      mismatches += 1
      if mismatches < 5 { Issue.record("\(d.bitPattern): Swift \(CanonicalJSON.string(.double(d))), Python \(p)") }
    }
    #expect(mismatches == 0)
  }

  // MARK: 14: zip members

  /// A member that honestly inflates to 2 GiB: inspect reads its header
  /// under a 1 GiB address-space limit (it used to inflate all of it).
  @Test func anHonestGiantNpzMemberIsNotInflatedToReadItsHeader() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let count = 1 << 29
    let header = npyHeader(shape: count)
    // Deflate header + 2 GiB of zeros as one stream, a MiB at a time.
    var s = z_stream()
    deflateInit2_(&s, 1, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var crcValue = crc32(0, nil, 0)
    func feed(_ input: [UInt8], finish: Bool) {
      var input = input
      input.withUnsafeMutableBufferPointer { i in
        crcValue = crc32(crcValue, i.baseAddress, uInt(i.count))
        s.next_in = i.baseAddress
        s.avail_in = uInt(i.count)
        repeat {
          buffer.withUnsafeMutableBufferPointer { o in
            s.next_out = o.baseAddress
            s.avail_out = uInt(o.count)
            _ = CZlib.deflate(&s, finish ? Z_FINISH : Z_NO_FLUSH)
            out += o[0..<(o.count - Int(s.avail_out))]
          }
        } while s.avail_out == 0
      }
    }
    feed(header, finish: false)
    let zeros = [UInt8](repeating: 0, count: 1 << 20)
    for i in 0..<((count * 4) >> 20) { feed(zeros, finish: i == ((count * 4) >> 20) - 1) }
    deflateEnd(&s)
    let size = header.count + count * 4
    // zip64 would be needed past 4 GiB; 2 GiB + header fits the 32-bit field.
    try writeFile(tmp.file("big.npz"), zip([("w.npy", out, 8, size, UInt32(crcValue))]))
    let r = try run("/usr/bin/prlimit", ["--as=1073741824", ingotBinary(), "inspect", tmp.file("big.npz")])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("[536870912]"))
  }

  @Test func zipMembersSharingOneStreamAreRefused() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let data = npyHeader(shape: 4) + [UInt8](repeating: 0, count: 16)
    let members = (0..<200).map { ("a\($0).npy", data, UInt16(0), data.count, crc(data)) }
    try writeFile(tmp.file("shared.npz"), zip(members, sharedData: true))
    if case .zip(_, _, _, let reason)? = refusal([tmp.file("shared.npz")]) as? NumpyError { #expect(reason.contains("shares its data")) } else {
      Issue.record("\(String(describing: refusal([tmp.file("shared.npz")])))")
    }
  }

  // MARK: 15: counts that cost more memory than the file holds

  @Test func aliasedTensorsHugeArraysAndPackedDimsAreRefusedCheaply() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    try writeFile(tmp.file("alias.gguf"), gguf(kvs: [], tensors: (0..<300).map { ("t\($0)", [64], 0, 0) }))
    if case .overlappingData? = refusal([tmp.file("alias.gguf")]) as? GGUFError {} else { Issue.record("alias: \(String(describing: refusal([tmp.file("alias.gguf")])))") }
    let n = Limits.maxMetadataArrayLength + 1
    try writeFile(tmp.file("array.gguf"), gguf(kvs: [str("a") + le(UInt32(9)) + le(UInt32(0)) + le(UInt64(n)) + [UInt8](repeating: 1, count: n)], tensors: []))
    if case .limit(_, _, _, Limits.maxMetadataArrayLength)? = refusal([tmp.file("array.gguf")]) as? GGUFError {} else { Issue.record("array") }
    // ONNX: one packed dims field of a million varints.
    let (varint, field) = (Wire.varint, Wire.field)
    let tensor = field(1, [UInt8](repeating: 1, count: 1 << 20)) + varint(2 << 3) + varint(1) + field(8, Array("w".utf8))
    try writeFile(tmp.file("dims.onnx"), varint(1 << 3) + varint(8) + field(7, field(5, tensor)))
    if case .badDims(_, "w", let dims)? = refusal([tmp.file("dims.onnx")]) as? ONNXError { #expect(dims.count == Limits.maxDimensions + 1) } else {
      Issue.record("dims: \(String(describing: refusal([tmp.file("dims.onnx")])))")
    }
  }

  // MARK: 17: diff's baseline

  @Test func diffsMismatchedLayerBaselineIsLinearInTheLayerCount() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    var rng = SplitMix64(seed: 17)
    for (file, layers) in [("a", 60), ("b", 60)] {
      let tensors = (0..<layers).map { ("model.layers.\($0).mlp.up_proj.weight", (0..<64).map { _ in Float(Int(rng.next() % 1000)) / 500 - 1 }) }
      try writeFile(tmp.file(file + ".safetensors"), safetensors(tensors, rows: 8))
    }
    let report = try DiffAction(a: [tmp.file("a.safetensors")], b: [tmp.file("b.safetensors")]).run()
    // Each layer against three others of its role: 3·L pairs, not L·(L−1).
    #expect(report["baselines"]?["mismatched_pairs"]?.intValue == 180)
  }

  // MARK: 19: what a reader refuses is never written

  @Test func emptyNamesAndOversizedHeadersAreRefusedOnConvert() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    try writeFile(tmp.file("e.safetensors"), safetensors([("", [1, 2, 3, 4])]))
    let npy = npyHeader(shape: 1) + [UInt8](repeating: 0, count: 4)
    try writeFile(tmp.file("e.npz"), zip([(".npy", npy, 0, npy.count, crc(npy))]))
    try writeFile(tmp.file("e.gguf"), gguf(kvs: [], tensors: [("", [8], 0, 0)]))
    try writeFile(tmp.file("long.safetensors"), safetensors([(String(repeating: "x", count: Limits.maxTensorNameBytes + 1), [1])]))
    let header = CanonicalJSON.encode(["w": ["dtype": "F32", "shape": .ints([Int](repeating: 1, count: Limits.maxDimensions + 1)), "data_offsets": .ints([0, 4])]])
    try writeFile(tmp.file("dims.safetensors"), le(UInt64(header.count)) + header + le(Float(1).bitPattern))
    if case .invalidSchema(_, let reason)? = refusal([tmp.file("dims.safetensors")]) as? SafetensorsError { #expect(reason.contains("maxDimensions")) } else {
      Issue.record("dims: \(String(describing: refusal([tmp.file("dims.safetensors")])))")
    }
    for f in ["e.safetensors", "e.npz", "e.gguf", "long.safetensors", "dims.safetensors"] {
      #expect(throws: (any Error).self, "\(f)") { _ = try ConvertAction(sources: [tmp.file(f)], output: tmp.file("x.ingot")).run() }
      #expect(!FileManager.default.fileExists(atPath: tmp.file("x.ingot")), "\(f)")
    }
    // Companion text that escapes (\u0001 is six bytes in JSON) past the header limit.
    let dir = try llamaFolder(tmp, "big") { _ in }
    try writeFile(dir + "/vocab.txt", [UInt8](repeating: 1, count: Limits.maxIngotHeaderBytes / 6 + 1024))
    #expect { _ = try ConvertAction(sources: [dir], output: tmp.file("big.ingot")).run() } throws: { error in
      if case .invalidHeader? = error as? ContainerError { return true }
      return false
    }
    #expect(!FileManager.default.fileExists(atPath: tmp.file("big.ingot")))
  }

  // MARK: 20: outputs

  @Test func forwardOutputNeedsForce() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try convertFixture("models/tiny-llama", into: tmp)
    try writeFile(tmp.file("out.npy"), [1, 2, 3])
    let r = try run(ingotBinary(), ["forward", tmp.file("m.ingot"), "--tokens", "1,2,3", "-o", tmp.file("out.npy")])
    #expect(r.status == 1)
    #expect(try readFile(tmp.file("out.npy")) == [1, 2, 3])
  }

  /// Where O_TMPFILE is missing: a fresh random hidden name created with
  /// O_EXCL | O_NOFOLLOW, the descriptor kept; a link planted at the old
  /// predictable name is never followed.
  @Test func theStagingFallbackNeverFollowsAPlantedLink() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    try writeFile(tmp.file("victim"), Array("untouched".utf8))
    let planted = tmp.file(".out.tmp-\(getpid())")
    try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: tmp.file("victim"))
    let file = try AtomicFile(replacing: tmp.file("out"), hiddenName: true)
    try file.write(Array("new".utf8), at: 0)
    try file.commit()
    #expect(try readFile(tmp.file("out")) == Array("new".utf8))
    #expect(try readFile(tmp.file("victim")) == Array("untouched".utf8))
    let left = try FileManager.default.contentsOfDirectory(atPath: tmp.path).sorted()
    #expect(left == [".out.tmp-\(getpid())", "out", "victim"])
  }

  /// The limits table in the spec and in the README is Limits.table: same
  /// names, same values, same order.
  @Test func documentedLimitsAreTheEnforcedOnes() throws {
    for doc in ["formats/ingot-v1.md", "README.md"] {
      let text = String(decoding: try readFile(Fixtures.repoRoot + "/" + doc), as: UTF8.self)
      var rows: [(String, String)] = []
      for line in text.split(separator: "\n") where line.hasPrefix("| `max") {
        let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        rows.append((cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`")), cells[1]))
      }
      #expect(rows.map(\.0) == Limits.table.map(\.name), "\(doc)")
      for ((name, shown), limit) in Swift.zip(rows, Limits.table) {
        let value = shown.split(separator: " ").first.map(String.init) ?? ""
        let parsed = value.hasPrefix("2^") ? Int(value.dropFirst(2)).map { 1 << $0 } : Int(value)
        #expect(parsed == limit.value, "\(doc): \(name) shows \(shown), enforces \(limit.value)")
      }
    }
  }

  /// Every input tools/fuzz found that crashed a harness, kept under the
  /// harness's extension: each now ends in a typed error, or opens.
  @Test func everyFuzzFindingIsRefusedCleanly() throws {
    let dir = Fixtures.path("fuzz-findings")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    #expect(!files.isEmpty)
    for f in files {
      do {
        let source = try Inputs.open([dir + "/" + f])
        for i in source.tensors.indices { _ = try source.withPayload(i) { $0.count } }
      } catch let e as any ReportableError {
        #expect(!e.description.isEmpty, "\(f)")
      }
    }
  }
}
