/// Gram matrices by weight name, read one at a time as tensors are quantized.
public protocol HessianSource: Sendable {
  /// E[xxᵀ] of `weight`'s input, cols × cols, row-major; nil when not measured.
  func hessian(for weight: String, cols: Int) throws -> [Float]?
}
