import IngotCore
import IngotContainer

#if canImport(Glibc)
  import Glibc
#endif

/// `ingot sign`: adds a signature to the header. Tensors, storage, the model
/// digest and the provenance chain are unchanged; the file is replaced in
/// one rename (ContainerWriter.rewrite).
public struct SignAction: Sendable {
  public var path: String
  public var keyPath: String
  public init(path: String, keyPath: String) {
    self.path = path
    self.keyPath = keyPath
  }

  public func run() throws -> Signature {
    let reader = try ContainerReader(path: path)
    let signature = try Signature.sign(reader.header, privateKey: try KeyFiles.privateKey(keyPath))
    var header = reader.header
    header.signature = signature.json
    try ContainerWriter.rewrite(reader, header: header)
    return signature
  }
}
