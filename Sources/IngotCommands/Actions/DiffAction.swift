import IngotCore
import IngotPipeline
import IngotContainer
import IngotFormats
import IngotRuntime


/// `ingot diff A B [--control C]`: see ModelDiff and README "Is B derived from A?".
public struct DiffAction: Sendable {
  public var a: [String]
  public var b: [String]
  public var control: [String]?
  /// Check every tensor read from an `.ingot` input against its digest.
  public var verify = true

  public init(a: [String], b: [String], control: [String]? = nil) {
    self.a = a
    self.b = b
    self.control = control
  }


  public func run() throws -> JSONValue {
    try ModelDiff.report(try Inputs.open(a), try Inputs.open(b), control: try control.map { try Inputs.open($0) }, verify: verify)
  }
}
