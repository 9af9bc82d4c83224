import IngotCore

/// ggml tensor types: elements and bytes per block (formats/gguf.md,
/// formats/ingot-v1.md §5.3 "ggml").
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
  case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8
  case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
  case iq4_nl = 20, iq4_xs = 23
  case bf16 = 30

  /// gguf-py's name (GGMLQuantizationType), as headers and tables spell it.
  public var description: String {
    switch self {
    case .f32: "F32"
    case .f16: "F16"
    case .bf16: "BF16"
    case .q4_0: "Q4_0"
    case .q4_1: "Q4_1"
    case .q5_0: "Q5_0"
    case .q5_1: "Q5_1"
    case .q8_0: "Q8_0"
    case .q2_K: "Q2_K"
    case .q3_K: "Q3_K"
    case .q4_K: "Q4_K"
    case .q5_K: "Q5_K"
    case .q6_K: "Q6_K"
    case .q8_K: "Q8_K"
    case .iq4_nl: "IQ4_NL"
    case .iq4_xs: "IQ4_XS"
    }
  }

  public init?(name: String) {
    guard let t = Self.allCases.first(where: { $0.description == name }) else { return nil }
    self = t
  }

  public var block: (elements: Int, bytes: Int) {
    switch self {
    case .f32: (1, 4)
    case .f16, .bf16: (1, 2)
    case .q4_0: (32, 18)
    case .q4_1: (32, 20)
    case .q5_0: (32, 22)
    case .q5_1: (32, 24)
    case .q8_0: (32, 34)
    case .iq4_nl: (32, 18)
    case .q2_K: (256, 84)
    case .q3_K: (256, 110)
    case .q4_K: (256, 144)
    case .q5_K: (256, 176)
    case .q6_K: (256, 210)
    case .q8_K: (256, 292)
    case .iq4_xs: (256, 136)
    }
  }

  /// Bytes for `elements` values; rows must hold whole blocks.
  public func byteCount(elements: Int, rowLength: Int) -> Int? {
    let (n, b) = block
    guard rowLength % n == 0 || elements == 0, elements % n == 0 else { return nil }
    let (bytes, overflow) = (elements / n).multipliedReportingOverflow(by: b)
    return overflow ? nil : bytes
  }

  /// The type as stored without loss in a container, if it is a plain float.
  public var plain: DType? {
    switch self {
    case .f32: .f32
    case .f16: .f16
    case .bf16: .bf16
    default: nil
    }
  }

  /// The float type of a container dtype, for GGUF export.
  public init?(plain: DType) {
    switch plain {
    case .f32: self = .f32
    case .f16: self = .f16
    case .bf16: self = .bf16
    default: return nil
    }
  }

  /// A block type (not a plain float).
  public var isBlock: Bool { plain == nil }
}
