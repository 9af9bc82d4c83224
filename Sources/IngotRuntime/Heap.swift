#if canImport(Glibc)
  import Glibc
#endif

/// The pass allocates and frees layer-sized arrays all the time (weights
/// widened to f32, activations). glibc serves blocks above its mmap
/// threshold with fresh mappings and returns freed heap tops to the kernel,
/// so every such array page-faulted and was zeroed again: a fifth of a
/// MiniLM pass under perf. Raising both limits keeps freed blocks for
/// reuse; peak RSS stays that of the largest live set.
enum Heap {
  static let tuned: Void = {
    #if canImport(Glibc)
      // malloc.h is not in the Glibc module: mallopt by symbol, with its
      // parameter numbers (M_TRIM_THRESHOLD −1, M_MMAP_THRESHOLD −3).
      guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
      typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
      let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
      _ = mallopt(-3, 32 << 20)  // glibc's maximum on 64-bit
      _ = mallopt(-1, 256 << 20)
    #endif
  }()
}
