import IngotCore
import IngotContainer
import IngotPipeline
import Testing

/// Golden values for `--dtype`, from the IEEE 754 definitions: each input is
/// an f32 bit pattern, each output the bit pattern round-to-nearest-even gives.
@Suite struct CastTests {
  func cast(_ bits: [UInt32], to target: DType) throws -> [UInt16] {
    let stage = try CastStage(target: target)
    let from = SourceTensor(name: "t", dtype: .f32, shape: [bits.count], byteCount: bits.count * 4)
    let to = try stage.plan(from)
    #expect(to.dtype == target && to.byteCount == bits.count * 2)
    var output = [UInt16](repeating: 0xFFFF, count: bits.count)
    try bits.withUnsafeBytes { input in
      try output.withUnsafeMutableBytes { out in try stage.apply(from: from, to: to, input: input, output: out) }
    }
    return output
  }

  @Test func bfloat16RoundsToNearestEven() throws {
    let cases: [(UInt32, UInt16)] = [
      (0x3F80_0000, 0x3F80),  // 1.0
      (0x3F80_8000, 0x3F80),  // 1 + 2^-8: tie, keep even
      (0x3F81_8000, 0x3F82),  // 1 + 3·2^-8: tie, round up to even
      (0x3F80_8001, 0x3F81),  // just above the tie
      (0x3F80_7FFF, 0x3F80),  // just below the tie
      (0xBF80_8000, 0xBF80),  // negative tie
      (0x7F7F_FFFF, 0x7F80),  // f32 max rounds to +Inf
      (0x7F80_0000, 0x7F80), (0xFF80_0000, 0xFF80),  // ±Inf
      (0x0000_0001, 0x0000),  // smallest f32 subnormal → +0
      (0x8000_0000, 0x8000),  // -0 keeps its sign
      (0x7FC0_0000, 0x7FC0),  // quiet NaN
      (0x7F80_0001, 0x7FC0),  // signalling NaN with a low payload: stays NaN, made quiet
      (0xFFC1_2345, 0xFFC1),  // negative NaN keeps sign and top payload bits
    ]
    let out = try cast(cases.map(\.0), to: .bf16)
    for (c, got) in zip(cases, out) {
      #expect(got == c.1, "f32 \(String(c.0, radix: 16)) → bf16 \(String(got, radix: 16)), want \(String(c.1, radix: 16))")
    }
  }

  @Test func float16RoundsToNearestEvenAndOverflowsToInfinity() throws {
    let cases: [(UInt32, UInt16)] = [
      (0x3F80_0000, 0x3C00),  // 1.0
      (0x3F80_1000, 0x3C00),  // 1 + 2^-11: tie, keep even
      (0x3F80_3000, 0x3C02),  // 1 + 3·2^-11: tie, round up to even
      (0x477F_E000, 0x7BFF),  // 65504, the f16 maximum
      (0x477F_EFFF, 0x7BFF),  // 65519.99: below the overflow tie
      (0x477F_F000, 0x7C00),  // 65520: tie beyond the maximum → +Inf
      (0xC780_0000, 0xFC00),  // -65536 → -Inf
      (0x3380_0000, 0x0001),  // 2^-24, smallest f16 subnormal
      (0x3300_0000, 0x0000),  // 2^-25: tie between 0 and 2^-24 → 0
      (0x3340_0000, 0x0001),  // 0.75·2^-24 → 2^-24
      (0x33C0_0000, 0x0002),  // 1.5·2^-24: tie → 2·2^-24 (even)
      (0x3880_0000, 0x0400),  // 2^-14, smallest normal
      (0x7F80_0000, 0x7C00), (0xFF80_0000, 0xFC00),
    ]
    let out = try cast(cases.map(\.0), to: .f16)
    for (c, got) in zip(cases, out) {
      #expect(got == c.1, "f32 \(String(c.0, radix: 16)) → f16 \(String(got, radix: 16)), want \(String(c.1, radix: 16))")
    }
    let nan = try cast([0x7FC0_0000, 0xFFC0_0000], to: .f16)
    #expect(nan[0] & 0x7C00 == 0x7C00 && nan[0] & 0x3FF != 0 && nan[0] & 0x8000 == 0)
    #expect(nan[1] & 0x7C00 == 0x7C00 && nan[1] & 0x3FF != 0 && nan[1] & 0x8000 != 0)
  }

  @Test func onlyFloatTargetsAreAccepted() {
    #expect(throws: PipelineError.self) { try CastStage(target: .i8) }
    #expect(throws: PipelineError.self) { try CastStage(target: .f64) }
  }

  @Test func integerAndEightBitTensorsPassThrough() throws {
    let stage = try CastStage(target: .bf16)
    for dtype in [DType.i64, .u8, .bool, .f64, .f8_e4m3] {
      let t = SourceTensor(name: "t", dtype: dtype, shape: [3], byteCount: dtype.byteCount(elements: 3) ?? 0)
      #expect(try stage.plan(t) == t)
    }
  }
}
