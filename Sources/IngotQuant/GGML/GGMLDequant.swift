import IngotCore

/// Dequantization to f32, following ggml's `dequantize_row_*` (each product
/// in the order ggml's C code computes it).
public enum GGMLDequant {
  @inline(__always) static func half(_ p: UnsafeRawPointer, _ o: Int) -> Float {
    Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt16.self))))
  }

  /// `count` values (whole blocks) of `src` into `y`.
  public static func dequantize(_ type: GGMLType, _ src: UnsafeRawBufferPointer, count: Int, into y: UnsafeMutablePointer<Float>) {
    guard let base = src.baseAddress else { return }
    let (n, size) = type.block
    for blk in 0..<(count / n) {
      let x = base + blk * size
      let out = y + blk * n
      switch type {
      case .f32, .f16, .bf16: break
      case .q8_0:
        let d = half(x, 0)
        for j in 0..<32 { out[j] = Float(x.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
      case .q4_0:
        let d = half(x, 0)
        for j in 0..<16 {
          let b = x.load(fromByteOffset: 2 + j, as: UInt8.self)
          out[j] = Float(Int(b & 0x0F) - 8) * d
          out[j + 16] = Float(Int(b >> 4) - 8) * d
        }
      case .q4_1:
        let d = half(x, 0), m = half(x, 2)
        for j in 0..<16 {
          let b = x.load(fromByteOffset: 4 + j, as: UInt8.self)
          out[j] = Float(b & 0x0F) * d + m
          out[j + 16] = Float(b >> 4) * d + m
        }
      case .q5_0, .q5_1:
        let d = half(x, 0)
        let m: Float = type == .q5_1 ? half(x, 2) : 0
        let h = type == .q5_1 ? 4 : 2
        let qh = UInt32(littleEndian: x.loadUnaligned(fromByteOffset: h, as: UInt32.self))
        for j in 0..<16 {
          let b = x.load(fromByteOffset: h + 4 + j, as: UInt8.self)
          let xh0 = ((qh >> UInt32(j)) << 4) & 0x10
          let xh1 = (qh >> UInt32(j + 12)) & 0x10
          if type == .q5_0 {
            out[j] = Float(Int32(UInt32(b & 0x0F) | xh0) - 16) * d
            out[j + 16] = Float(Int32(UInt32(b >> 4) | xh1) - 16) * d
          } else {
            out[j] = Float(UInt32(b & 0x0F) | xh0) * d + m
            out[j + 16] = Float(UInt32(b >> 4) | xh1) * d + m
          }
        }
      case .q8_K:
        let d = Float(bitPattern: UInt32(littleEndian: x.loadUnaligned(as: UInt32.self)))
        for j in 0..<256 { out[j] = d * Float(x.load(fromByteOffset: 4 + j, as: Int8.self)) }
      case .q2_K:
        q2K(x, out)
      case .q3_K:
        q3K(x, out)
      case .q4_K, .q5_K:
        q45K(x, out, five: type == .q5_K)
      case .q6_K:
        q6K(x, out)
      case .iq4_nl:
        let d = half(x, 0)
        for j in 0..<16 {
          let b = x.load(fromByteOffset: 2 + j, as: UInt8.self)
          out[j] = d * iq4Values[Int(b & 0x0F)]
          out[j + 16] = d * iq4Values[Int(b >> 4)]
        }
      case .iq4_xs:
        iq4XS(x, out)
      }
    }
  }

  /// IQ4_NL's and IQ4_XS's 16 non-uniform levels (ggml's kvalues_iq4nl).
  public static let iq4Values: [Float] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

  /// IQ4_XS: f16 d, u16 scales_h, 4 bytes scales_l, 128 bytes of nibbles;
  /// sub-block ib of 32 has the 6-bit scale ls (low 4 bits in scales_l,
  /// high 2 in scales_h) and the value d·(ls − 32)·level.
  static func iq4XS(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = half(x, 0)
    let high = UInt16(littleEndian: x.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
    for ib in 0..<8 {
      let low = x.load(fromByteOffset: 4 + ib / 2, as: UInt8.self)
      let ls = Int((low >> (4 * UInt8(ib % 2))) & 0xF) | Int((high >> (2 * UInt16(ib))) & 3) << 4
      let dl = d * Float(ls - 32)
      let qs = x + 8 + 16 * ib
      for j in 0..<16 {
        let b = qs.load(fromByteOffset: j, as: UInt8.self)
        y[32 * ib + j] = dl * iq4Values[Int(b & 0x0F)]
        y[32 * ib + j + 16] = dl * iq4Values[Int(b >> 4)]
      }
    }
  }

  static func q2K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let scales = x, qs = x + 16
    let d = half(x, 80), dmin = half(x, 82)
    var out = 0, sIndex = 0
    for n in stride(from: 0, to: 256, by: 128) {
      let q = qs + n / 4
      var shift: UInt8 = 0
      for _ in 0..<4 {
        for half in 0..<2 {
          let sc = scales.load(fromByteOffset: sIndex, as: UInt8.self)
          sIndex += 1
          let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
          for l in 0..<16 {
            let v = (q.load(fromByteOffset: l + 16 * half, as: UInt8.self) >> shift) & 3
            y[out] = dl * Float(v) - ml
            out += 1
          }
        }
        shift += 2
      }
    }
  }

  static func q3K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let hm = x, qs = x + 32
    let d = half(x, 108)
    var aux = [UInt32](repeating: 0, count: 4)
    for k in 0..<3 { aux[k] = UInt32(littleEndian: x.loadUnaligned(fromByteOffset: 96 + 4 * k, as: UInt32.self)) }
    let kmask1: UInt32 = 0x0303_0303, kmask2: UInt32 = 0x0F0F_0F0F
    let tmp = aux[2]
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4)
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4)
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4)
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4)
    let scales = aux.flatMap { w in (0..<4).map { Int8(bitPattern: UInt8(truncatingIfNeeded: w >> (8 * $0))) } }
    var out = 0, sIndex = 0
    var m: UInt8 = 1
    for n in stride(from: 0, to: 256, by: 128) {
      let q = qs + n / 4
      var shift: UInt8 = 0
      for _ in 0..<4 {
        for half in 0..<2 {
          let dl = d * Float(Int(scales[sIndex]) - 32)
          sIndex += 1
          for l in 0..<16 {
            let low = Int((q.load(fromByteOffset: l + 16 * half, as: UInt8.self) >> shift) & 3)
            let high = hm.load(fromByteOffset: l + 16 * half, as: UInt8.self) & m != 0 ? 0 : 4
            y[out] = dl * Float(low - high)
            out += 1
          }
        }
        shift += 2
        m <<= 1
      }
    }
  }

  /// ggml's get_scale_min_k4: 6-bit scale and min j of 8 from 12 bytes.
  @inline(__always) static func scaleMin(_ j: Int, _ q: UnsafeRawPointer) -> (UInt8, UInt8) {
    func b(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
    if j < 4 { return (b(j) & 63, b(j + 4) & 63) }
    return ((b(j + 4) & 0xF) | ((b(j - 4) >> 6) << 4), (b(j + 4) >> 4) | ((b(j) >> 6) << 4))
  }

  static func q45K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, five: Bool) {
    let d = half(x, 0), dmin = half(x, 2)
    let scales = x + 4
    let qh = x + 16
    let ql = five ? x + 48 : x + 16
    var out = 0
    var u1: UInt8 = 1, u2: UInt8 = 2
    for (c, j) in stride(from: 0, to: 256, by: 64).enumerated() {
      let (sc1, m1raw) = scaleMin(2 * c, scales), (sc2, m2raw) = scaleMin(2 * c + 1, scales)
      let d1 = d * Float(sc1), m1 = dmin * Float(m1raw)
      let d2 = d * Float(sc2), m2 = dmin * Float(m2raw)
      let q = ql + j / 2
      for l in 0..<32 {
        var v = Int(q.load(fromByteOffset: l, as: UInt8.self) & 0xF)
        if five && qh.load(fromByteOffset: l, as: UInt8.self) & u1 != 0 { v += 16 }
        y[out] = d1 * Float(v) - m1
        out += 1
      }
      for l in 0..<32 {
        var v = Int(q.load(fromByteOffset: l, as: UInt8.self) >> 4)
        if five && qh.load(fromByteOffset: l, as: UInt8.self) & u2 != 0 { v += 16 }
        y[out] = d2 * Float(v) - m2
        out += 1
      }
      u1 <<= 2
      u2 <<= 2
    }
  }

  static func q6K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = half(x, 208)
    for (k, n) in stride(from: 0, to: 256, by: 128).enumerated() {
      let ql = x + 64 * k, qh = x + 128 + 32 * k, sc = x + 192 + 8 * k
      func s(_ i: Int) -> Float { Float(sc.load(fromByteOffset: i, as: Int8.self)) }
      for l in 0..<32 {
        let isc = l / 16
        let a = ql.load(fromByteOffset: l, as: UInt8.self), b = ql.load(fromByteOffset: l + 32, as: UInt8.self)
        let h = qh.load(fromByteOffset: l, as: UInt8.self)
        let q1 = Int(Int8(bitPattern: (a & 0xF) | ((h >> 0) & 3) << 4)) - 32
        let q2 = Int(Int8(bitPattern: (b & 0xF) | ((h >> 2) & 3) << 4)) - 32
        let q3 = Int(Int8(bitPattern: (a >> 4) | ((h >> 4) & 3) << 4)) - 32
        let q4 = Int(Int8(bitPattern: (b >> 4) | ((h >> 6) & 3) << 4)) - 32
        y[n + l] = d * s(isc) * Float(q1)
        y[n + l + 32] = d * s(isc + 2) * Float(q2)
        y[n + l + 64] = d * s(isc + 4) * Float(q3)
        y[n + l + 96] = d * s(isc + 6) * Float(q4)
      }
    }
  }
}
