#if canImport(Glibc)
  import Glibc
#endif
import IngotCore

/// The file Gram matrices go to as each layer's are finished (f32 little-
/// endian, one after another), so calibration holds one layer's at a time;
/// the stats container is then written from its mapping.
final class GramSpill {
  let path: String
  var file: UnsafeMutablePointer<FILE>?
  var size = 0

  init(path: String) throws(FileError) {
    self.path = path
    file = fopen(path, "wb")
    guard file != nil else { throw .io(file: path, operation: "create", errno: errno) }
  }

  deinit { if let file { fclose(file) } }

  /// Appends `values`; their byte range in the file.
  func append(_ values: [Float]) throws(FileError) -> Range<Int> {
    let start = size
    var bytes = [UInt8](repeating: 0, count: values.count * 4)
    for (i, v) in values.enumerated() {
      let b = v.bitPattern.littleEndian
      bytes[4 * i] = UInt8(truncatingIfNeeded: b)
      bytes[4 * i + 1] = UInt8(truncatingIfNeeded: b >> 8)
      bytes[4 * i + 2] = UInt8(truncatingIfNeeded: b >> 16)
      bytes[4 * i + 3] = UInt8(truncatingIfNeeded: b >> 24)
    }
    guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw .io(file: path, operation: "write", errno: errno) }
    size += bytes.count
    return start..<size
  }

  func close() throws(FileError) {
    guard let f = file else { return }
    file = nil
    guard fclose(f) == 0 else { throw .io(file: path, operation: "close", errno: errno) }
  }
}
