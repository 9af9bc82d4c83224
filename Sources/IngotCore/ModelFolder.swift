#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Files a model folder names (shards, companion files, external data) are
/// read only if they resolve inside that folder: a `vocab.txt` symlinked to
/// a file elsewhere would otherwise be embedded in the container and written
/// back out by export. One exception keeps Hugging Face's cache usable: a
/// snapshot folder `…/snapshots/REV/` whose files link into the same repo's
/// `…/blobs/`.
public enum ModelFolder {
  /// The resolved path of `folder/name`, or an error naming where it leads.
  public static func resolve(_ folder: String, _ name: String) throws(FileError) -> String {
    let path = folder + "/" + name
    guard let root = realPath(folder) else { throw .io(file: folder, operation: "resolve", errno: errno) }
    guard let target = realPath(path) else { throw .io(file: path, operation: "resolve", errno: errno) }
    if target.hasPrefix(root + "/") { return target }
    let parts = root.split(separator: "/", omittingEmptySubsequences: false)
    if parts.count >= 3, parts[parts.count - 2] == "snapshots" {
      let blobs = parts[..<(parts.count - 2)].joined(separator: "/") + "/blobs/"
      if target.hasPrefix(blobs), !target.dropFirst(blobs.count).contains("/") { return target }
    }
    throw .outsideFolder(file: path, folder: folder, target: target)
  }

  static func realPath(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
  }
}
