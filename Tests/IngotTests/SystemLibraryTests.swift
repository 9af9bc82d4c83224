import IngotCore
import IngotPipeline
import COpenBLAS
import CZstd
import Testing

/// The system libraries later issues build on are installed and link
/// (tools/deps puts them there).
@Suite struct SystemLibraryTests {
  @Test func zstdRoundTripsABuffer() {
    #expect(ZSTD_versionNumber() >= 10400)
    let input = [UInt8]((0..<4096).map { UInt8($0 % 7) })
    var compressed = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
    let n = ZSTD_compress(&compressed, compressed.count, input, input.count, 3)
    #expect(ZSTD_isError(n) == 0 && n < input.count)
    var output = [UInt8](repeating: 0, count: input.count)
    let m = ZSTD_decompress(&output, output.count, compressed, n)
    #expect(m == input.count && output == input)
  }

  @Test func sgemmMultipliesMatrices() {
    let a: [Float] = [1, 2, 3, 4, 5, 6]  // 2×3
    let b: [Float] = [7, 8, 9, 10, 11, 12]  // 3×2
    var c = [Float](repeating: 0, count: 4)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 3, 1, a, 3, b, 2, 0, &c, 2)
    #expect(c == [58, 64, 139, 154])
  }
}
