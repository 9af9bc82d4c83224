import IngotCore

/// Minimal .npy output (v1.0, little-endian f32, C order).
public enum NpyWriter {
  public static func float32(_ values: [Float], shape: [Int]) -> [UInt8] {
    var out = header("<f4", shape)
    out.reserveCapacity(out.count + values.count * 4)
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
    return out
  }

  /// Token ids and the like: little-endian int64.
  public static func int64(_ values: [Int], shape: [Int]) -> [UInt8] {
    var out = header("<i8", shape)
    out.reserveCapacity(out.count + values.count * 8)
    for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { out += $0 } }
    return out
  }

  static func header(_ descr: String, _ shape: [Int]) -> [UInt8] {
    let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
    out += Array(header.utf8)
    return out
  }
}
