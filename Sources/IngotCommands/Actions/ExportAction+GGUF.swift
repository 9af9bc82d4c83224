import IngotArchitectures
import IngotContainer
import IngotCore
import IngotFormats
import IngotPipeline
import IngotQuant
import IngotRuntime
import IngotTokenizers

extension ExportAction {
  /// Source → [cast of floats] → GGUF layout (llama.cpp's names, exact
  /// block forms) → GGUF sink. Keys: a GGUF-born container's own, with
  /// their wire types; otherwise translated from config.json through the
  /// architecture registry and from tokenizer.json. Either way the model
  /// digest and provenance head follow as `ingot.*` keys.
  func runGGUF() throws -> Outcome {
    let reader = try ContainerReader(path: input)
    let ggufBorn = reader.metadata["gguf/general.architecture"] != nil
    // A GGUF-born container needs its config only to move Hugging Face
    // names back; one of another make needs it for every key.
    var spec: ArchitectureSpec? = nil
    var config: ModelConfig? = nil
    if let a = reader.metadata["gguf/general.architecture"] { spec = Architectures.spec(gguf: a) }
    let hfNamed = spec.map { s in reader.tensors.contains { s.hfRole($0.name) != nil } } ?? false
    if !ggufBorn || hfNamed {
      let (s, c) = try Weights(reader).config()
      spec = s
      config = c
    }
    guard ggufBorn || spec?.ggufArchitecture != nil, let arch = spec?.ggufArchitecture ?? reader.metadata["gguf/general.architecture"] else {
      throw GGUFError.noGGUFMetadata(reason: "the \(spec?.name ?? "?") architecture has no llama.cpp layout in the registry")
    }
    let prefixes = spec?.prefixes ?? []
    func dropped(_ t: SourceTensor) -> Bool {
      guard let spec, !ggufBorn else { return false }
      return spec.ggufDropped.contains { d in prefixes.contains { t.name == $0 + d } }
    }
    var extra: [(tensor: SourceTensor, bytes: [UInt8])] = []
    let ropeName = spec?.ggufName(.ropeFreqs).map { $0 + ".weight" }
    if !ggufBorn, let ropeName, let config, !reader.tensors.contains(where: { $0.name == ropeName }),
       let factors = ArchitectureSpec.ropeFrequencyFactors(config.rope, headDim: config.headDim) {
      var bytes: [UInt8] = []
      for f in factors { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
      extra.append((SourceTensor(name: ropeName, dtype: .f32, shape: [factors.count], byteCount: bytes.count), bytes))
    }
    let source = ExportSource(reader, keep: { !dropped($0) }, extra: extra)
    let skipped = reader.tensors.filter(dropped).map(\.name)
    let stage = GGUFStage(spec: ggufBorn && !hfNamed ? nil : spec, heads: config?.heads ?? 1, kvHeads: config?.kvHeads ?? 1, dequantizeTo: dtype,
                          passThrough: ropeName.map { [$0] } ?? [], keepUnmapped: ggufBorn)
    let planned = try source.tensors.map { try stage.plan($0) }
    let types = try planned.map { try GGUFWriter.type(of: $0) }

    var keys: [(key: String, value: GGUFValue)]
    if ggufBorn {
      keys = try Self.originalKeys(reader.metadata)
      // The vendor's keys as they were while every tensor is as converted;
      // after a quantize or cast, the file type says what the tensors are now.
      let changed = reader.provenance.contains { $0.operation != "convert" } || dtype != nil
      if changed {
        keys.removeAll { $0.key == "general.file_type" }
        keys.append(("general.file_type", .u32(Self.fileType(planned, types, recipe: Self.recipe(reader.provenance)))))
        if !keys.contains(where: { $0.key == "general.quantization_version" }) { keys.append(("general.quantization_version", .u32(2))) }
      }
    } else {
      keys = [("general.architecture", .string(arch)), ("general.type", .string("model"))]
      if let name = Self.modelName(reader.metadata) { keys.append(("general.name", .string(name))) }
      guard let spec, let config else { throw GGUFError.noGGUFMetadata(reason: "no config") }
      // llama.cpp slides only where its architecture has a layer pattern.
      if let window = config.slidingWindow, spec.slidingPattern == nil, !fullAttention {
        throw GGUFError.noGGUFMetadata(reason: "sliding window \(window): llama.cpp's \(arch) attends over the whole context, a different model beyond \(window) tokens; --full-attention writes it so")
      }
      do { keys += try spec.ggufKeyValues(config) } catch { throw GGUFError.noGGUFMetadata(reason: error.description) }
      keys.append(("general.file_type", .u32(Self.fileType(planned, types, recipe: Self.recipe(reader.provenance)))))
      keys.append(("general.quantization_version", .u32(2)))
      guard let tokenizer = reader.metadata["files/tokenizer.json"] else {
        throw GGUFError.noGGUFMetadata(reason: "\(input) carries no tokenizer.json (llama.cpp needs the vocabulary; convert the model folder)")
      }
      let configJSON = reader.metadata["files/config.json"].flatMap { try? JSONParser.parse(Array($0.utf8)) }
      do {
        keys += try GGUFTokenizerKeys.keys(tokenizerJSON: tokenizer, tokenizerConfig: reader.metadata["files/tokenizer_config.json"], config: configJSON,
                                        vocabSize: config.vocabSize)
      } catch { throw GGUFError.noGGUFMetadata(reason: error.description) }
      // BERT's segment count, which llama.cpp requires of it.
      if let name = spec.hfName(.tokenTypeEmbedding), let t = reader.tensors.first(where: { t in prefixes.contains { t.name == $0 + name + ".weight" } }) {
        keys.append(("tokenizer.ggml.token_type_count", .u32(UInt32(t.shape.first ?? 1))))
      }
    }
    keys.removeAll { $0.key.hasPrefix("ingot.") }
    keys.append(("ingot.model_digest", .string(reader.header.modelDigest)))
    keys.append(("ingot.provenance_head", .string(reader.header.provenanceHead)))

    let sink = try GGUFWriter(path: output, inputs: [input], force: force, metadata: keys)
    var options = Pipeline.Options(operation: "export")
    options.verifyInputs = verify
    let cast = try dtype.map { try CastStage(target: $0) }
    let stages: [any TensorStage] = (cast.map { [$0] } ?? []) + [stage]
    let summary = try Pipeline(source: source, stages: stages, options: options).run(into: sink)
    var outcome = Outcome(files: [output], tensors: planned.count, bytes: summary.bytesOut)
    outcome.droppedTensors = skipped
    return outcome
  }

  /// A GGUF-born container's keys with their recorded wire types, in the
  /// file's order (`gguf-types`); containers made before the types were
  /// recorded get llama.cpp's usual ones (u32 integers, f32 reals).
  static func originalKeys(_ metadata: [String: String]) throws -> [(key: String, value: GGUFValue)] {
    func text(_ key: String) -> String? { metadata["gguf/" + key] }
    var out: [(String, GGUFValue)] = []
    let codes = Dictionary(uniqueKeysWithValues: GGUFValue.typeNames.map { ($1, $0) })
    if let typesText = metadata[GGUFSource.typesKey], let list = try? JSONParser.parse(Array(typesText.utf8)).arrayValue {
      for entry in list {
        guard let e = entry.arrayValue, e.count >= 2, let key = e[0].stringValue, let typeName = e[1].stringValue, let type = codes[typeName],
          let raw = text(key)
        else { throw GGUFError.noGGUFMetadata(reason: "gguf-types: a malformed entry \(CanonicalJSON.string(entry))") }
        let element = e.count > 2 ? e[2].stringValue.flatMap { codes[$0] } : nil
        let json: JSONValue = type == 8 ? .string(raw) : ((try? JSONParser.parse(Array(raw.utf8))) ?? .string(raw))
        guard let v = GGUFValue.from(json, type: type, element: element) else {
          throw GGUFError.noGGUFMetadata(reason: "gguf/\(key) does not fit its recorded type \(typeName)")
        }
        out.append((key, v))
      }
      return out
    }
    for (k, raw) in metadata.sorted(by: { $0.key < $1.key }) where k.hasPrefix("gguf/") {
      let key = String(k.dropFirst(5))
      guard let json = try? JSONParser.parse(Array(raw.utf8)) else {
        out.append((key, .string(raw)))
        continue
      }
      func guess(_ j: JSONValue) -> GGUFValue {
        switch j {
        case .int(let i): return i >= 0 && i <= Int64(UInt32.max) ? .u32(UInt32(i)) : .i64(i)
        case .double(let d): return .f32(Float(d))
        case .bool(let b): return .bool(b)
        default: return .string(j.stringValue ?? CanonicalJSON.string(j))
        }
      }
      if case .array(let items) = json {
        let isString = items.first?.stringValue != nil
        let isInt = items.first.map { if case .int = $0 { return true } else { return false } } ?? false
        let element: UInt32 = isString ? 8 : isInt ? 5 : 6
        out.append((key, GGUFValue.from(json, type: 9, element: element) ?? .string(raw)))
      } else if case .string(let s) = json {
        out.append((key, .string(s)))
      } else {
        out.append((key, guess(json)))
      }
    }
    return out
  }

  /// The quantize recipe named in the container's history, if any.
  static func recipe(_ steps: [ProvenanceStep]) -> String? {
    for s in steps.reversed() where s.operation == "quantize" {
      if let r = s.parameters["recipe"]?.stringValue { return r }
      if let r = s.parameters["quantize"]?["recipe"]?.stringValue { return r }
    }
    return nil
  }

  /// llama.cpp's `general.file_type` (llama_ftype): a recipe's own, else
  /// the type most of the matrices have.
  static func fileType(_ tensors: [SourceTensor], _ types: [GGMLType], recipe: String?) -> UInt32 {
    switch recipe {
    case "q4_k_m": return 15
    case "q5_k_m": return 17
    default: break
    }
    var counts: [GGMLType: Int] = [:]
    for (t, type) in zip(tensors, types) where t.shape.count == 2 { counts[type, default: 0] += 1 }
    let main = counts.max { a, b in a.value != b.value ? a.value < b.value : a.key.rawValue > b.key.rawValue }?.key ?? .f32
    let ftype: [GGMLType: UInt32] = [
      .f32: 0, .f16: 1, .q4_0: 2, .q4_1: 3, .q8_0: 7, .q5_0: 8, .q5_1: 9, .q2_K: 10, .q3_K: 12, .q4_K: 14, .q5_K: 16, .q6_K: 18,
      .iq4_nl: 25, .iq4_xs: 30, .bf16: 32,
    ]
    return ftype[main] ?? 0
  }

  static func modelName(_ metadata: [String: String]) -> String? {
    guard let text = metadata["files/config.json"], let c = try? JSONParser.parse(Array(text.utf8)) else { return nil }
    return c["_name_or_path"]?.stringValue.map { String($0.split(separator: "/").last ?? Substring($0)) }
  }
}
