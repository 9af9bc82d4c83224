/// Streams tensors into a new `.ingot` file (formats/ingot-v1.md §2).
///
/// The header goes first in the file but is only known at the end (digests,
/// metrics), so the writer reserves room for it up front from a size estimate
/// and writes payloads after that. If the final header is larger than the
/// reservation, the data section is moved once; the layout stays canonical
/// either way because the reservation is a pure function of the plan.
public final class ContainerWriter {
  public let output: AtomicFile
  public let alignment: Int
  let dataOffset: Int
  var cursor = 0  // next free byte in the data section
  let stream: StreamingOutput

  public init(path: String, inputs: [String], force: Bool, reservedHeaderBytes: Int, alignment: Int = 64)
    throws(ContainerError)
  {
    output = try AtomicFile(path: path, inputs: inputs, force: force)
    self.alignment = alignment
    dataOffset = Self.dataOffset(forHeaderLength: reservedHeaderBytes)
    stream = StreamingOutput(fd: output.fd, path: path, start: dataOffset)
  }

  /// Data starts on a 4 KiB boundary so mapped payloads are page-aligned.
  static func dataOffset(forHeaderLength n: Int) -> Int {
    (Preamble.size + n + 4095) / 4096 * 4096
  }

  /// Reserves the next aligned slot of `length` bytes and returns its offset
  /// (relative to the data section).
  public func reserve(_ length: Int) -> Int {
    let offset = (cursor + alignment - 1) / alignment * alignment
    cursor = offset + length
    return offset
  }

  /// Writes part of a payload at a data-section offset from `reserve`.
  /// Payloads arrive in order: each write starts at or after the end of the
  /// previous one (the gap is alignment padding, written as zeros).
  public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(ContainerError) {
    try stream.write(bytes, at: dataOffset + offset)
  }

  /// Appends one whole payload; returns its storage.
  public func append(_ bytes: UnsafeRawBufferPointer) throws(ContainerError) -> Storage {
    let offset = reserve(bytes.count)
    try write(bytes, at: offset)
    return Storage(offset: offset, length: bytes.count)
  }

  /// Writes preamble and header, then makes the file visible. `header` must
  /// already carry its model digest and provenance.
  public func finish(header: ContainerHeader) throws(ContainerError) {
    try stream.finish()
    let json = header.encoded()
    let dataLength = (cursor + alignment - 1) / alignment * alignment
    var start = dataOffset
    if Preamble.size + json.count > dataOffset {
      start = Self.dataOffset(forHeaderLength: json.count)
      try moveData(from: dataOffset, to: start, length: cursor)
    }
    try output.truncate(to: start + dataLength)  // zero-fills the tail padding
    let preamble = Preamble(
      headerLength: json.count, dataOffset: start, dataLength: dataLength,
      headerSHA256: json.withUnsafeBytes { Array(Crypto.SHA256.hash(data: $0)) })
    var head = preamble.encoded() + json
    head.append(contentsOf: repeatElement(0x20, count: start - head.count))
    try output.write(head, at: 0)
    try output.commit()
  }

  /// Moves `length` bytes forward, from the end backwards so nothing is
  /// overwritten before it is copied; the gap left behind is then padding.
  func moveData(from: Int, to: Int, length: Int) throws(ContainerError) {
    let chunk = 8 << 20
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
    defer { buffer.deallocate() }
    var end = length
    while end > 0 {
      let n = min(chunk, end)
      let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
      try output.read(into: part, at: from + end - n)
      try output.write(UnsafeRawBufferPointer(part), at: to + end - n)
      end -= n
    }
  }
}

import Crypto
