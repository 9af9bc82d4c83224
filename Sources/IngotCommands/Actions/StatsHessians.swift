import IngotContainer
import IngotCore
import IngotPipeline
import IngotRuntime

/// The Gram matrices of a stats container (`ingot calibrate --hessian`),
/// each read (and checked against its digest) only when its weight is
/// quantized, so a run holds one at a time.
final class StatsHessians: HessianSource, @unchecked Sendable {
  // @unchecked: every read goes through the lock.
  let weights: Weights
  let lock = Lock()
  let names: Set<String>

  init(_ stats: ContainerReader) {
    weights = Weights(stats)
    names = Set(stats.tensors.map(\.name).filter { $0.hasSuffix(Self.suffix) })
  }

  static let suffix = ".input_gram"

  /// The Gram's tensor name for a weight name.
  static func gramName(_ weight: String) -> String {
    (weight.hasSuffix(".weight") ? String(weight.dropLast(".weight".count)) : weight) + suffix
  }

  var isEmpty: Bool { names.isEmpty }

  func hessian(for weight: String, cols: Int) throws -> [Float]? {
    let name = Self.gramName(weight)
    guard names.contains(name) else { return nil }
    return try lock.locked { try weights.load(name, shape: [cols, cols]) }
  }
}
