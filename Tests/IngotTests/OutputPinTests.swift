import IngotCore
import IngotPipeline
import Foundation
import IngotTestSupport
import Testing

/// Outputs pinned before the structure redesign (tools/pin_outputs.sh wrote
/// Fixtures/pinned/outputs.tsv with the code of that time): the same commands
/// on the same fixtures must give byte-identical files, or a refactor changed
/// what Ingot writes.
@Suite struct OutputPinTests {
  @Test func outputsAreByteIdenticalToThePinnedOnes() throws {
    let result = try run("/bin/bash", [Fixtures.repoRoot + "/tools/pin_outputs.sh", ingotBinary()])
    #expect(result.status == 0, "\(result.stderr)")
    let expected = try String(contentsOfFile: Fixtures.path("pinned/outputs.tsv"), encoding: .utf8)
    let pinned = Dictionary(uniqueKeysWithValues: expected.split(separator: "\n").map { line in
      let f = line.split(separator: "\t")
      return (String(f[0]), String(f[1]))
    })
    let lines = result.stdout.split(separator: "\n")
    #expect(lines.count == pinned.count)
    for line in lines {
      let f = line.split(separator: "\t")
      #expect(f.count == 2 && pinned[String(f[0])] == String(f[1]), "\(f[0]): \(f.count > 1 ? f[1] : "") (pinned \(pinned[String(f[0])] ?? "none"))")
    }
  }
}
