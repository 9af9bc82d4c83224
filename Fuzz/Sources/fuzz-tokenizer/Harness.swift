import FuzzSupport

/// tokenizer.json input: parse, build every part (regexes compiled, merges
/// resolved), then encode a fixed multilingual text and the input itself,
/// and decode the ids.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  Harness.tokenizer(UnsafeRawBufferPointer(start: data, count: size))
  return 0
}
