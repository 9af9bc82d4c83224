/// One operation in a container's history (formats/ingot-v1.md §8).
public struct ProvenanceStep: Equatable, Sendable {
  public struct Input: Equatable, Sendable {
    /// Path relative to the argument given on the command line (a file's base
    /// name, or a file inside a model folder), so that output does not depend
    /// on where the command ran.
    public var path: String
    public var format: String
    public var size: Int
    public var sha256: String
    /// For `.ingot` inputs: the model digest they carried.
    public var modelDigest: String?

    public init(path: String, format: String, size: Int, sha256: String, modelDigest: String? = nil) {
      self.path = path
      self.format = format
      self.size = size
      self.sha256 = sha256
      self.modelDigest = modelDigest
    }

    public var json: JSONValue {
      var o: [String: JSONValue] = [
        "path": .string(path), "format": .string(format), "size": .int(Int64(size)),
        "sha256": .string(sha256),
      ]
      if let modelDigest { o["model_digest"] = .string(modelDigest) }
      return .object(o)
    }
  }

  public var tool: String
  public var toolVersion: String
  public var operation: String
  public var parameters: [String: JSONValue]
  public var inputs: [Input]
  /// The model digest the previous step produced; nil for a first step.
  public var inputModelDigest: String?
  /// The model digest this step produced.
  public var modelDigest: String
  public var metrics: JSONValue
  /// Only present when the user asks (`--note`, `--timestamp`): a default run
  /// must be reproducible byte for byte.
  public var note: String?
  public var timestamp: String?

  public init(
    operation: String, parameters: [String: JSONValue], inputs: [Input], inputModelDigest: String?,
    modelDigest: String = "", metrics: JSONValue = .object([:]), note: String? = nil,
    timestamp: String? = nil
  ) {
    self.tool = "ingot"
    self.toolVersion = IngotVersion.string
    self.operation = operation
    self.parameters = parameters
    self.inputs = inputs
    self.inputModelDigest = inputModelDigest
    self.modelDigest = modelDigest
    self.metrics = metrics
    self.note = note
    self.timestamp = timestamp
  }

  public var json: JSONValue {
    var o: [String: JSONValue] = [
      "tool": .string(tool), "tool_version": .string(toolVersion), "operation": .string(operation),
      "parameters": .object(parameters), "inputs": .array(inputs.map(\.json)),
      "input_model_digest": inputModelDigest.map { .string($0) } ?? .null,
      "model_digest": .string(modelDigest), "metrics": metrics,
    ]
    if let note { o["note"] = .string(note) }
    if let timestamp { o["timestamp"] = .string(timestamp) }
    return .object(o)
  }

  public init?(json: JSONValue) {
    guard let o = json.objectValue, let tool = o["tool"]?.stringValue,
      let version = o["tool_version"]?.stringValue, let op = o["operation"]?.stringValue,
      let params = o["parameters"]?.objectValue, let inputs = o["inputs"]?.arrayValue,
      let digest = o["model_digest"]?.stringValue
    else { return nil }
    var parsedInputs: [Input] = []
    for item in inputs {
      guard let path = item["path"]?.stringValue, let format = item["format"]?.stringValue,
        let size = item["size"]?.intValue, size >= 0, let sha = item["sha256"]?.stringValue
      else { return nil }
      parsedInputs.append(
        Input(path: path, format: format, size: Int(size), sha256: sha, modelDigest: item["model_digest"]?.stringValue))
    }
    self.tool = tool
    self.toolVersion = version
    self.operation = op
    self.parameters = params
    self.inputs = parsedInputs
    switch o["input_model_digest"] {
    case .string(let s): self.inputModelDigest = s
    case .null, nil: self.inputModelDigest = nil
    default: return nil
    }
    self.modelDigest = digest
    self.metrics = o["metrics"] ?? .object([:])
    self.note = o["note"]?.stringValue
    self.timestamp = o["timestamp"]?.stringValue
  }
}

public enum IngotVersion {
  public static let string = "0.1.0"
}
