import IngotArchitectures
import IngotCore

/// config.json: the JSON parser, then every architecture's config decoder
/// and checks (the values a forward pass divides and indexes by).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard let json = try? JSONParser.parse(UnsafeRawBufferPointer(start: data, count: size)) else { return 0 }
  for spec in Architectures.all {
    // (The pass checks head_dim against the weights before it sizes its tables.)
    guard let config = try? spec.config(json), spec.positions == .rotary, config.headDim <= 1 << 16 else { continue }
    _ = config.rope.inverseFrequencies(dims: config.headDim, factors: nil)
    _ = config.localRope?.inverseFrequencies(dims: config.headDim, factors: nil)
  }
  return 0
}
