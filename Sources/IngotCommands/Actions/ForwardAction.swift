import IngotCore
import IngotContainer
import IngotFormats
import IngotRuntime

/// `ingot forward`: the reference forward pass on one token sequence.
public struct ForwardAction: Sendable {
  public var input: String
  public var tokens: [Int]
  /// Check every weight against its digest as it is loaded.
  public var verify = true
  public init(input: String, tokens: [Int]) {
    self.input = input
    self.tokens = tokens
  }

  /// Output [tokens × dim] and its kind ("logits" or "last_hidden_state").
  public func run() throws -> (values: [Float], dim: Int, kind: String) {
    let weights = Weights(try ContainerReader(path: input))
    weights.verifyDigests = verify
    let model = try Models.load(weights)
    let out = try model.run([tokens])
    return (out[0], model.outputDim, model.outputKind)
  }

  /// Tokens from `--tokens 1,2,3`.
  public static func parse(_ text: String) throws -> [Int] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let values = parts.compactMap { Int($0) }
    guard !parts.isEmpty, values.count == parts.count else { throw RuntimeError.badInput("--tokens must be a comma-separated list of integers") }
    return values
  }

  /// Tokens from a 1-D integer .npy (int64 or int32).
  public static func load(_ path: String) throws -> [Int] {
    let file = try MappedFile(path: path)
    let h = try NpyHeader.parse(file.all, file: path, array: "tokens")
    guard h.shape.count == 1, [.i64, .i32].contains(h.dtype), h.isNative else {
      throw RuntimeError.badInput("\(path): --token-file must hold a 1-D little-endian int64 or int32 array")
    }
    let data = UnsafeRawBufferPointer(rebasing: file.all[h.dataOffset...])
    let n = h.shape[0], w = h.dtype.bits / 8
    return (0..<n).map { w == 8 ? Int(data.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) : Int(data.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
  }
}

import Foundation
