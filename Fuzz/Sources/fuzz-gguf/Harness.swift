import FuzzSupport

/// gguf input: open through the same path convert takes, translate its keys
/// into each architecture's config, read every tensor.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  Harness.withFile(data, size, ext: ".gguf") { try Harness.ggufSource($0) }
}
