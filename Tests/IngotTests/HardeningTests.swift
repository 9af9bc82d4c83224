import Foundation
import IngotArchitectures
import IngotCommands
import IngotContainer
import IngotCore
import IngotFormats
import IngotPipeline
import IngotRuntime
import IngotTestSupport
import Testing

/// Crafted inputs, one class of attack per test (issue: hardening). Each
/// builds its file here, so the class is tested, not one instance of it.
@Suite struct HardeningTests {
  func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

  func refusal(_ paths: [String]) -> Error? {
    do { _ = try Inputs.open(paths) } catch { return error }
    return nil
  }

  /// Tuples 100k deep are refused at a stated depth; lists and dicts nested
  /// 200k deep (through APPEND and SETITEM) are freed without recursion.
  @Test func deeplyNestedPicklesNeitherOverflowTheStackNorPass() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let tuples: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 100_000) + [0x2E]
    try writeFile(tmp.file("tuples.pkl"), tuples)
    if case .limit(_, _, _, Limits.maxPickleTupleDepth)? = refusal([tmp.file("tuples.pkl")]) as? PyTorchError {} else {
      Issue.record("tuples: \(String(describing: refusal([tmp.file("tuples.pkl")])))")
    }
    let n = 200_000
    let lists: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x5D, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2E]
    var dicts: [UInt8] = [0x80, 0x02]
    for _ in 0..<n { dicts += [0x7D, 0x4B, 0x01] }  // EMPTY_DICT, BININT1 1 (the key for the next one)
    dicts.removeLast(2)
    dicts += [UInt8](repeating: 0x73, count: n - 1) + [0x2E]
    for (name, bytes) in [("lists.pkl", lists), ("dicts.pkl", dicts)] {
      try writeFile(tmp.file(name), bytes)
      // Dicts stop at the name walk's depth limit; lists hold no tensors.
      let e = refusal([tmp.file(name)]) as? PyTorchError
      switch e {
      case .noTensors?, .nestedTooDeep?: break
      default: Issue.record("\(name): \(String(describing: e))")
      }
    }
  }
}
