/// The first pair of byte ranges that overlap, in start order: the one check
/// every reader makes so that no payload is counted (or read) twice. Empty
/// ranges overlap nothing. Sorted by start, some overlap exists exactly when
/// two neighbours overlap.
public func firstOverlap<T>(_ items: [(range: Range<Int>, tag: T)]) -> (earlier: T, later: T)? {
  let sorted = items.filter { !$0.range.isEmpty }.sorted { $0.range.lowerBound < $1.range.lowerBound }
  for (a, b) in zip(sorted, sorted.dropFirst()) where b.range.lowerBound < a.range.upperBound { return (a.tag, b.tag) }
  return nil
}
