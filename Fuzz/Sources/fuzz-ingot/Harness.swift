import FuzzSupport
import IngotContainer

/// .ingot: the preamble, header, chunk tables and quant layouts on open, then
/// every tensor's verification (decompression included) and the padding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  Harness.withFile(data, size, ext: ".ingot") { path in
    let reader = try ContainerReader(path: path)
    for i in reader.header.tensors.indices { _ = reader.verifyTensor(i) }
    _ = reader.verifyPadding()
  }
}
