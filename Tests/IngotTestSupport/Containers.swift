import IngotCommands
import IngotContainer
import IngotCore

/// A fixture converted into `tmp` (as `name`), and its reader.
public func convertFixture(_ fixture: String, into tmp: TempDir, as name: String = "m.ingot") throws -> ContainerReader {
  _ = try ConvertAction(sources: [Fixtures.path(fixture)], output: tmp.file(name), force: true).run()
  return try ContainerReader(path: tmp.file(name))
}

/// Flips, sets or cuts bytes of a file in place.
public func mutateFile(_ path: String, _ body: (inout [UInt8]) -> Void) throws {
  var bytes = try readFile(path)
  body(&bytes)
  try writeFile(path, bytes)
}

/// Flips the bits `mask` of byte `byte` of tensor `name`'s stored payload
/// in `reader`'s file (header untouched); returns that tensor's entry.
@discardableResult
public func damagePayload(_ reader: ContainerReader, tensor name: String, byte: Int, mask: UInt8) throws -> TensorEntry {
  guard let entry = reader.header.tensors.first(where: { $0.name == name }) else { throw FixtureError.noTensor(name) }
  try mutateFile(reader.path) { $0[Int(reader.preamble.dataOffset) + entry.storage.offset + byte] ^= mask }
  return entry
}

public enum FixtureError: Error { case noTensor(String) }

/// `reader`'s file with its header replaced by `header`, the preamble's
/// length and checksum made consistent with it (a lie that passes the
/// checksum), written to `path`; then what the reader says of it: nil when
/// it opens, the refusal otherwise.
public func reopenWithHeader(_ reader: ContainerReader, _ header: JSONValue, at path: String) throws -> ContainerError? {
  let encoded = CanonicalJSON.encode(header)
  var pre = reader.preamble
  pre.headerLength = UInt64(encoded.count)
  pre.headerSHA256 = hexBytes(Digest.sha256Hex(encoded))
  let original = try readFile(reader.path)
  var bytes = pre.encoded() + encoded
  bytes += [UInt8](repeating: 0x20, count: max(0, Int(pre.dataOffset) - bytes.count))
  bytes += original[Int(reader.preamble.dataOffset)...]
  try writeFile(path, bytes)
  do {
    _ = try ContainerReader(path: path)
    return nil
  } catch let e as ContainerError { return e }
}

/// Bytes from lowercase hex.
public func hexBytes(_ hex: String) -> [UInt8] {
  let chars = Array(hex.utf8)
  return stride(from: 0, to: chars.count, by: 2).map { UInt8(String(decoding: chars[$0..<($0 + 2)], as: UTF8.self), radix: 16) ?? 0 }
}
