import FuzzSupport

/// pytorch input: open through the same path convert takes, read every tensor.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  Harness.withFile(data, size, ext: ".pt") { try Harness.source($0) }
}
