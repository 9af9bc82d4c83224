/// A tensor as a source lists it, before any stage touches it.
public struct SourceTensor: Equatable, Sendable {
  public var name: String
  public var dtype: DType
  public var shape: [Int]
  public var encoding: Encoding
  /// Bytes of the encoded payload.
  public var byteCount: Int

  public init(name: String, dtype: DType, shape: [Int], encoding: Encoding = .raw, byteCount: Int) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.encoding = encoding
    self.byteCount = byteCount
  }
}

/// A file a source reads: hashed whole for provenance.
public struct SourceFile: Equatable, Sendable {
  /// Path to open.
  public var path: String
  /// Name recorded in provenance: relative to what the user named.
  public var recordedPath: String
  public var format: String
  public var size: Int

  public init(path: String, recordedPath: String, format: String, size: Int) {
    self.path = path
    self.recordedPath = recordedPath
    self.format = format
    self.size = size
  }
}

/// The start of every pipeline (DESIGN.md "The data path"). A source lists
/// tensors and hands out one payload at a time; it never reads the whole model.
public protocol TensorSource: AnyObject, Sendable {
  /// Format name recorded in provenance ("safetensors", "ingot", ...).
  var format: String { get }
  /// Tensors in the order the output will hold them.
  var tensors: [SourceTensor] { get }
  var metadata: [String: String] { get }
  var files: [SourceFile] { get }
  /// History carried over from an `.ingot` input; empty for foreign formats.
  var provenance: [ProvenanceStep] { get }
  /// Model digest of an `.ingot` input.
  var inputModelDigest: String? { get }
  /// An `.ingot` input's signature, carried to the output (it keeps covering
  /// the steps it signed).
  var signature: JSONValue? { get }
  /// Calls `body` with tensor `index`'s encoded, uncompressed payload.
  func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
  /// Hints that tensor `index` is done, so its pages can be dropped.
  func release(_ index: Int)
  /// Calls `body` with consecutive slices of tensor `index`'s payload and
  /// each slice's offset, for passes that read it once front to back; mapped
  /// sources drop each slice's pages after use.
  func forEachSlice(_ index: Int, size: Int, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) throws
  /// The SHA-256 the source promises for tensor `index`'s payload (an
  /// `.ingot` input's tensor digest), checked by every pipeline that reads it.
  func expectedDigest(_ index: Int) -> String?
  /// Whether tensor `index`'s payload hashes to `expectedDigest` (true when
  /// none is promised). Safe to call beside other reads of the source.
  func verifyPayload(_ index: Int) -> Bool
}

extension TensorSource {
  public var signature: JSONValue? { nil }
  public var provenance: [ProvenanceStep] { [] }
  public var inputModelDigest: String? { nil }
  public func expectedDigest(_ index: Int) -> String? { nil }

  public func verifyPayload(_ index: Int) -> Bool {
    guard let expected = expectedDigest(index) else { return true }
    var digest = StreamingDigest()
    do { try forEachSlice(index, size: 8 << 20) { part, _ in digest.update(part) } } catch { return false }
    return digest.finalizeHex() == expected
  }

  public func forEachSlice(_ index: Int, size: Int, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
    try withPayload(index) { payload in
      var at = 0
      repeat {
        let end = min(payload.count, at + max(size, 1))
        try body(UnsafeRawBufferPointer(rebasing: payload[at..<end]), at)
        at = end
      } while at < payload.count
    }
    release(index)
  }
}
