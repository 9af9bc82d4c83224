/// How a tensor's values are represented in its payload (formats/ingot-v1.md §5).
/// v1 readers know `raw`; quantized kinds are registered by name so that an
/// unknown one is refused, by name, instead of misread.
public struct Encoding: Equatable, Sendable {
  public var kind: String
  /// Scheme parameters (group size, scale dtype, ...). Integers and strings only,
  /// so the canonical form never depends on float formatting.
  public var parameters: [String: JSONValue]

  public init(kind: String, parameters: [String: JSONValue] = [:]) {
    self.kind = kind
    self.parameters = parameters
  }

  public static let raw = Encoding(kind: "raw")

  public var isRaw: Bool { kind == "raw" }

  public var json: JSONValue {
    var object = parameters
    object["kind"] = .string(kind)
    return .object(object)
  }

  public init?(json: JSONValue) {
    guard var object = json.objectValue, let kind = object["kind"]?.stringValue else { return nil }
    object["kind"] = nil
    self.init(kind: kind, parameters: object)
  }
}
