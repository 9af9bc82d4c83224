import COpenBLAS

#if canImport(Glibc)
  import Glibc
#endif

/// OpenBLAS's pthread build starts its worker threads when the library is
/// loaded, and they spin on sched_yield for a while (2^28 cycles by default)
/// waiting for work. Every ingot command links it, so each one lost a core
/// for its first ~0.1 s, whether it multiplied matrices or not; the forward
/// pass runs OpenBLAS single-threaded anyway (Ops.threads). `park` shuts the
/// pool down through OpenBLAS's own `blas_thread_shutdown_` (what its fork
/// handler calls); OpenBLAS starts it again if a multi-threaded call ever
/// needs it. Looked up at run time: other BLAS builds may not have it.
public enum BLASThreads {
  /// Threads the forward pass splits its products over.
  public static var computeThreads: Int { Ops.threads }

  public static func park() {
    // Read before parking, so the forward pass still knows how many
    // threads it was given.
    _ = Ops.threads
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") else { return }
    typealias Shutdown = @convention(c) () -> Int32
    _ = unsafeBitCast(symbol, to: Shutdown.self)()
  }
}
