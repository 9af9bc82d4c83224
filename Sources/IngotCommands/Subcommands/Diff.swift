import IngotCore
import ArgumentParser
import IngotContainer

extension IngotCommand {
  struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Is B derived from A? Config and vocabulary diff, tensor identity, similarities with their baselines, a permutation-robust test, and a verdict.")

    /// Any format Ingot reads; files or model folders.
    @OptionGroup var models: ModelPair

    @Option(help: "An unrelated model of the same shape, as a control.")
    var control: String?

    /// The whole report, top-level "verdict".
    @OptionGroup var format: JSONOption
    @OptionGroup var check: VerifyOption

    func run() throws {
      var action = DiffAction(a: [models.base], b: [models.candidate], control: control.map { [$0] })
      action.verify = check.verify
      let report = try action.run()
      if format.json {
        printJSON(report)
        return
      }
      print("verdict: \(report["verdict"]?.stringValue ?? "?")")
      for d in report["decided_by"]?.arrayValue ?? [] { print("  decided by: \(d.stringValue ?? "")") }
      if let r = report["reason"]?.stringValue { print("  \(r)") }
      if let v = report["vocabulary"] {
        print("vocabulary: jaccard \(formatFixed(v["jaccard"]?.doubleValue ?? 0, 4)), same ids \(formatFixed(v["same_id_share"]?.doubleValue ?? 0, 4))")
      }
      print("config differences: \(report["config"]?["differences"]?.arrayValue?.count ?? 0)")
      if let i = report["inventory"] {
        print("tensors: \(i["matched"]?.intValue ?? 0) matched, \(i["shape_mismatches"]?.arrayValue?.count ?? 0) shape mismatches, \(i["only_in_a"]?.arrayValue?.count ?? 0) only in A, \(i["only_in_b"]?.arrayValue?.count ?? 0) only in B")
      }
      if let bl = report["baselines"]?.objectValue {
        for (k, v) in bl.sorted(by: { $0.key < $1.key }) {
          if let d = v.doubleValue { print("  \(k): \(formatFixed(d, 4))") } else if let s = v.stringValue { print("  (\(s))") }
        }
      }
      if let p = report["permutation_test"]?["combined_log10_p"]?.doubleValue { print("permutation test: combined p = 1e\(formatFixed(p, 1))") }
      for c in report["caveats"]?.arrayValue ?? [] { print("caveat: \(c.stringValue ?? "")") }
    }
  }
}
