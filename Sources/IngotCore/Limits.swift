/// Every bound a reader enforces on untrusted input, in one table: the same
/// names appear in formats/ingot-v1.md §11 and the README's security
/// section, and each check cites its entry here, so the documented limit
/// and the enforced one cannot drift apart.
public enum Limits {
  /// .ingot header bytes (the preamble's header length).
  public static let maxIngotHeaderBytes = 256 << 20
  /// safetensors header bytes (its 8-byte length prefix).
  public static let maxSafetensorsHeaderBytes = 100_000_000
  /// Dimensions of one tensor, in every format.
  public static let maxDimensions = 16
  /// Bytes of one tensor name, in every format (and never empty).
  public static let maxTensorNameBytes = 4096
  /// Elements of one GGUF metadata array (the largest vocabularies hold
  /// about 262k tokens; each element costs a JSONValue while parsing, so
  /// the limit also bounds that memory, to about 100 MB).
  public static let maxMetadataArrayLength = 1 << 22
  /// Bytes of one metadata string (GGUF values, companion text files).
  public static let maxMetadataStringBytes = 64 << 20
  /// Nesting of JSON (headers, config.json, indexes).
  public static let maxJSONDepth = 64
  /// Decoded bytes per stored byte of one zstd chunk in an .ingot file.
  public static let maxDecompressionRatio = 4096
  /// Decoded bytes per compressed byte of a deflated zip member (deflate's
  /// own ceiling is about 1032).
  public static let maxDeflateRatio = 1032
  /// Uncompressed bytes of one zip member.
  public static let maxZipEntryBytes = 64 << 30
  /// Bytes of one pickle (torch's data.pkl holds names and shapes, not data).
  public static let maxPickleBytes = 256 << 20
  /// Values on the pickle machine's stack, and memo entries.
  public static let maxPickleStack = 1 << 20
  public static let maxPickleMemo = 1 << 20
  /// Tuples nested in tuples inside a pickle.
  public static let maxPickleTupleDepth = 256
  /// Dicts nested in a checkpoint's state dict (dotted-name depth).
  public static let maxStateDictDepth = 64
  /// Integer config values (hidden size, heads, vocabulary...).
  public static let maxConfigValue = 1 << 40

  /// The table as the README and spec print it: name, value, what it bounds.
  public static let table: [(name: String, value: Int, bounds: String)] = [
    ("maxIngotHeaderBytes", maxIngotHeaderBytes, ".ingot header length"),
    ("maxSafetensorsHeaderBytes", maxSafetensorsHeaderBytes, "safetensors header length"),
    ("maxDimensions", maxDimensions, "dimensions of a tensor"),
    ("maxTensorNameBytes", maxTensorNameBytes, "bytes of a tensor name (never empty)"),
    ("maxMetadataArrayLength", maxMetadataArrayLength, "elements of a GGUF metadata array"),
    ("maxMetadataStringBytes", maxMetadataStringBytes, "bytes of a metadata string or companion file"),
    ("maxJSONDepth", maxJSONDepth, "JSON nesting"),
    ("maxDecompressionRatio", maxDecompressionRatio, "decoded bytes per stored byte of an .ingot zstd chunk"),
    ("maxDeflateRatio", maxDeflateRatio, "inflated bytes per compressed byte of a zip member"),
    ("maxZipEntryBytes", maxZipEntryBytes, "uncompressed bytes of a zip member"),
    ("maxPickleBytes", maxPickleBytes, "bytes of one pickle"),
    ("maxPickleStack", maxPickleStack, "pickle stack entries"),
    ("maxPickleMemo", maxPickleMemo, "pickle memo entries"),
    ("maxPickleTupleDepth", maxPickleTupleDepth, "tuples nested in a pickle"),
    ("maxStateDictDepth", maxStateDictDepth, "dicts nested in a state dict"),
    ("maxConfigValue", maxConfigValue, "an integer in config.json or GGUF model keys"),
  ]
}
