/// The first eight bytes of every `.ingot` file (formats/ingot-v1.md §2):
/// "\x89INGOT\r\n"; the high byte and CR LF catch 7-bit and text-mode damage.
/// In the core so that format detection can recognise a container without
/// depending on the container module.
public enum ContainerMagic {
  public static let bytes: [UInt8] = [0x89, 0x49, 0x4E, 0x47, 0x4F, 0x54, 0x0D, 0x0A]
}
