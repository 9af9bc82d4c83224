import IngotCore

/// One layer's MLX affine quantization: code width and group size.
public struct MLXLayerQuant: Equatable, Hashable, Sendable {
  public var bits: Int
  public var groupSize: Int
  public init(bits: Int, groupSize: Int) {
    self.bits = bits
    self.groupSize = groupSize
  }

  public var json: JSONValue { ["group_size": .int(Int64(groupSize)), "bits": .int(Int64(bits)), "mode": "affine"] }
}

/// config.json's `quantization` block as mlx-lm reads it: defaults, then
/// per-layer entries keyed by module path (an object of their own, or
/// false for a layer left in float).
public struct MLXQuantization: Equatable, Sendable {
  public static let bitWidths: Set<Int> = [1, 2, 3, 4, 5, 6, 8]
  public static let groupSizes: Set<Int> = [32, 64, 128]

  public var defaults: MLXLayerQuant
  /// Module path → its own parameters, or nil when it stays float.
  public var layers: [String: MLXLayerQuant?]

  public init(defaults: MLXLayerQuant, layers: [String: MLXLayerQuant?] = [:]) {
    self.defaults = defaults
    self.layers = layers
  }

  public init(json: JSONValue, file: String) throws(MLXError) {
    guard let o = json.objectValue else { throw .badQuantization(file: file, key: "", reason: "not an object") }
    defaults = try Self.layer(o, file: file, key: "", defaults: nil)
    var layers: [String: MLXLayerQuant?] = [:]
    for (key, value) in o.sorted(by: { $0.key < $1.key }) where !["group_size", "bits", "mode", "quant_method"].contains(key) {
      switch value {
      case .bool(false): layers[key] = .some(nil)
      case .bool(true): layers[key] = defaults
      case .object(let p): layers[key] = try Self.layer(p, file: file, key: key + ".", defaults: defaults)
      default: throw .badQuantization(file: file, key: key, reason: "a per-layer entry must be an object or a boolean")
      }
    }
    self.layers = layers
  }

  static func layer(_ o: [String: JSONValue], file: String, key: String, defaults: MLXLayerQuant?) throws(MLXError) -> MLXLayerQuant {
    if let mode = o["mode"] {
      guard mode.stringValue == "affine" else {
        throw .badQuantization(file: file, key: key + "mode", reason: "only affine is read (mxfp4, nvfp4 and mxfp8 have no ingot encoding yet)")
      }
    }
    func int(_ name: String, _ fallback: Int?, _ allowed: Set<Int>) throws(MLXError) -> Int {
      guard let raw = o[name] else {
        if let fallback { return fallback }
        throw .badQuantization(file: file, key: key + name, reason: "missing")
      }
      guard let v = raw.intValue, let i = Int(exactly: v), allowed.contains(i) else {
        throw .badQuantization(file: file, key: key + name, reason: "must be one of \(allowed.sorted().map(String.init).joined(separator: ", "))")
      }
      return i
    }
    return MLXLayerQuant(bits: try int("bits", defaults?.bits, bitWidths), groupSize: try int("group_size", defaults?.groupSize, groupSizes))
  }

  /// How module `path` is quantized: `.some(nil)` when the config says it
  /// stays float, nil when the config does not name it.
  public func entry(_ path: String) -> MLXLayerQuant?? { layers[path] }

  public var json: JSONValue {
    var o: [String: JSONValue] = ["group_size": .int(Int64(defaults.groupSize)), "bits": .int(Int64(defaults.bits)), "mode": "affine"]
    for (path, q) in layers { o[path] = q.map { $0.json } ?? .bool(false) }
    return .object(o)
  }
}
