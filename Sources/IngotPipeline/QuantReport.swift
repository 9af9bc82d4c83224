import IngotCore
import IngotQuant

/// The quantization report (DESIGN.md "Quantization report schema"): what
/// `--json` prints, `--report` writes and the provenance step records.
public enum QuantReport {

  static func tensorJSON(name: String, shape: [Int], scheme: QuantScheme, codec: any QuantCodec, metrics m: ErrorMetrics) -> JSONValue {
    [
      "name": .string(name), "shape": .ints(shape), "scheme": .string(scheme.name),
      "group_size": .int(Int64(codec.groupSize)), "bits_per_weight": JSONValue.number(codec.bitsPerWeight),
      "mse": JSONValue.number(m.mse), "rmse": JSONValue.number(m.rmse), "max_abs_error": JSONValue.number(m.maxAbs),
      // null: exact (no error at all)
      "sqnr_db": JSONValue.number(m.sqnrDB), "cosine": JSONValue.number(m.cosine), "relative_error": JSONValue.number(m.relativeError),
    ]
  }

  static func report(
    scheme: QuantScheme, policy: QuantPolicy, tensors: [(input: SourceTensor, output: SourceTensor, measured: JSONValue?)],
    keepReason: (SourceTensor) -> String?
  ) -> JSONValue {
    var rows: [JSONValue] = []
    var kept: [JSONValue] = []
    var sqnr: [Double] = []
    var before = 0, after = 0, elements = 0, qBefore = 0, qAfter = 0, qElements = 0
    for t in tensors {
      before += t.input.byteCount
      after += t.output.byteCount
      let n = elementCount(t.input.shape) ?? 0
      elements += n
      if let m = t.measured {
        rows.append(m)
        if let s = m["sqnr_db"]?.doubleValue { sqnr.append(s) }
        qBefore += t.input.byteCount
        qAfter += t.output.byteCount
        qElements += n
      } else {
        kept.append(["name": .string(t.input.name), "reason": .string(keepReason(t.input) ?? "unchanged")])
      }
    }
    sqnr.sort()
    let median = sqnr.isEmpty ? Double.nan : (sqnr.count % 2 == 1 ? sqnr[sqnr.count / 2] : (sqnr[sqnr.count / 2 - 1] + sqnr[sqnr.count / 2]) / 2)
    return [
      "scheme": .string(scheme.name), "parameters": .object(scheme.parameters.merging(policy.parameters) { a, _ in a }),
      "tensors": .array(rows), "kept": .array(kept),
      "summary": [
        "tensors_quantized": .int(Int64(rows.count)), "tensors_kept": .int(Int64(kept.count)),
        "bytes_before": .int(Int64(before)), "bytes_after": .int(Int64(after)),
        "bits_per_weight": JSONValue.number(elements == 0 ? 0 : Double(after * 8) / Double(elements)),
        "quantized_bits_per_weight": JSONValue.number(qElements == 0 ? .nan : Double(qAfter * 8) / Double(qElements)),
        "quantized_bytes_before": .int(Int64(qBefore)), "quantized_bytes_after": .int(Int64(qAfter)),
        "sqnr_db_median": JSONValue.number(median), "sqnr_db_min": JSONValue.number(sqnr.first ?? .nan),
      ],
    ]
  }
}
