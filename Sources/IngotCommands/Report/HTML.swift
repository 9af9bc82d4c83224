import IngotCore

/// Building blocks of the report page. Everything from a model (names,
/// metadata, config strings, parameters) reaches the page through
/// `HTML.text` or `HTML.attribute`, which escape it: a name holding
/// `<script>` or `"><img onerror=…>` is shown, never run.
enum HTML {
  static func text(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default:
        // Controls other than tab and newline have no business in a page.
        if c.value < 0x20 && c != "\t" && c != "\n" || (0x7F...0x9F).contains(c.value) {
          out += "&#x" + String(c.value, radix: 16) + ";"
        } else {
          out.unicodeScalars.append(c)
        }
      }
    }
    return out
  }

  static func attribute(_ s: String) -> String { "\"" + text(s) + "\"" }

  /// A number exactly as the JSON reports hold it (shortest round trip),
  /// for data attributes a reader (or a test) can compare bit for bit.
  static func exact(_ d: Double) -> String { d.isFinite ? d.description : "null" }

  /// A number for people.
  static func number(_ d: Double, _ digits: Int = 2) -> String { d.isFinite ? formatFixed(d, digits) : d.description }

  /// `<tag attrs>body</tag>`; attribute values escaped here.
  static func element(_ tag: String, _ attributes: [(String, String)] = [], _ body: String = "") -> String {
    let attrs = attributes.map { " \($0.0)=\(attribute($0.1))" }.joined()
    return "<\(tag)\(attrs)>\(body)</\(tag)>"
  }

  /// A two-column definition table.
  static func facts(_ rows: [(String, String)]) -> String {
    element("table", [("class", "facts")], rows.map { "<tr><th>\(text($0.0))</th><td>\($0.1)</td></tr>" }.joined())
  }

  static func code(_ s: String) -> String { element("code", [], text(s)) }
}
