import Dispatch
import IngotCore

/// Checks payload digests beside the pass instead of in its way: each
/// tensor's hash runs on a background queue while the pass goes on with
/// its values, and `Weights.checkingBehind` waits for every hash and throws
/// the first mismatch before the pass's result is returned. So a damaged
/// container still never yields a result, but the check (a tenth to a
/// quarter of a small model's pass under perf, MiniLM's 47 MB embedding
/// table alone 30 ms) no longer sits on the critical path. Each check is the
/// source's own `verifyPayload` (for a container, `verifyTensor`: streamed,
/// safe beside the pass's reads). Only when the pass leaves a core idle
/// (`Weights.checkingBehind`).
final class DigestBehind: @unchecked Sendable {
  // @unchecked: `failures` and `queued` are only touched holding `lock`;
  // `source` is Sendable and read-only here.
  let source: any TensorSource
  let queue = DispatchQueue(label: "ingot.digest-behind")
  let group = DispatchGroup()
  let lock = Lock()
  var failures: [String] = []
  var queued = Set<Int>()

  init(_ source: any TensorSource) { self.source = source }

  /// Queues tensor `index`'s check against its promised digest.
  func check(_ index: Int) {
    guard lock.locked({ queued.insert(index).inserted }) else { return }
    queue.async(group: group) { [self] in
      // verifyPayload streams the payload and lets its pages go, so peak
      // RSS stays that of the pass.
      if !source.verifyPayload(index) { lock.locked { failures.append(source.tensors[index].name) } }
    }
  }

  /// Waits for every queued check; the first damaged tensor's name, if any.
  func finish() -> String? {
    group.wait()
    return lock.locked { failures.first }
  }
}
