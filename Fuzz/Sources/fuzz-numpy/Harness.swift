import FuzzSupport

/// NumPy input, .npy or .npz by its first bytes: opened through the same
/// path convert takes, every array read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let npy = size >= 6 && data[0] == 0x93 && data[1] == UInt8(ascii: "N")
  return Harness.withFile(data, size, ext: npy ? ".npy" : ".npz") { try Harness.source($0) }
}
