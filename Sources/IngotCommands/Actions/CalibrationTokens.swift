import IngotCore

/// The token sequences a stats container was measured on, as `ingot
/// calibrate` stores them: every id in order (i32) and each sequence's length.
public enum CalibrationTokens {
  public static let ids = "calibration.token_ids"
  public static let lengths = "calibration.sequence_lengths"

  /// The sequences of `source`; nil when it has none (stats from before they were stored).
  public static func read(_ source: any TensorSource) throws -> [[Int]]? {
    guard let i = source.tensors.firstIndex(where: { $0.name == ids }), let l = source.tensors.firstIndex(where: { $0.name == lengths }),
      source.tensors[i].dtype == .i32, source.tensors[l].dtype == .i32
    else { return nil }
    func values(_ k: Int) throws -> [Int] {
      try source.withPayload(k) { p in
        (0..<(p.count / 4)).map { Int(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
      }
    }
    let all = try values(i), counts = try values(l)
    guard counts.allSatisfy({ $0 > 0 }), counts.reduce(0, +) == all.count else { return nil }
    var out: [[Int]] = [], at = 0
    for n in counts {
      out.append(Array(all[at..<(at + n)]))
      at += n
    }
    return out
  }
}
