import IngotCore

/// safetensors dtype strings ↔ Ingot dtypes. Every string the format defines
/// has a counterpart, so a round trip is lossless.
enum SafetensorsDType {
  static let table: [(String, DType)] = [
    ("BOOL", .bool), ("U8", .u8), ("I8", .i8), ("U16", .u16), ("I16", .i16), ("U32", .u32),
    ("I32", .i32), ("U64", .u64), ("I64", .i64), ("F16", .f16), ("BF16", .bf16), ("F32", .f32),
    ("F64", .f64), ("C64", .c64), ("F8_E4M3", .f8_e4m3), ("F8_E5M2", .f8_e5m2),
    ("F8_E8M0", .f8_e8m0), ("F8_E4M3FNUZ", .f8_e4m3fnuz), ("F8_E5M2FNUZ", .f8_e5m2fnuz),
    ("F4", .f4), ("F6_E2M3", .f6_e2m3), ("F6_E3M2", .f6_e3m2),
  ]
  static let byName = Dictionary(uniqueKeysWithValues: table)
  static let byDType = Dictionary(uniqueKeysWithValues: table.map { ($1, $0) })
}
