import IngotArchitectures
import IngotCore

/// config.json: the JSON parser, then every architecture's config decoder
/// and checks (the values a forward pass divides and indexes by).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard let json = try? JSONParser.parse(UnsafeRawBufferPointer(start: data, count: size)) else { return 0 }
  for spec in Architectures.all { _ = try? spec.config(json) }
  return 0
}
