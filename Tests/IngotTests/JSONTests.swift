import IngotCore
import IngotPipeline
import IngotContainer
import Testing

@Suite struct JSONTests {
  @Test func canonicalSortsKeysByUTF8BytesAndEscapesLikePython() throws {
    let value: JSONValue = [
      "b": .int(1), "a": .array([.double(0.1), .double(1e-7), .double(1e22), .bool(true), .null]),
      "é": .string("tab\tquote\"slash\\nul\u{0}"), "Z": .string("ü€"),
    ]
    // Python: json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    // sorts by code point, which equals UTF-8 byte order.
    #expect(CanonicalJSON.string(value)
      == #"{"Z":"ü€","a":[0.1,1e-07,1e+22,true,null],"b":1,"é":"tab\tquote\"slash\\nul\u0000"}"#)
  }

  @Test func parserRoundTripsCanonicalOutput() throws {
    let text = #"{"a":[1,-2,3.5,"x\u00e9\ud83d\ude00"],"b":{"c":null,"d":false}}"#
    let parsed = try JSONParser.parse(Array(text.utf8))
    #expect(parsed["a"]?.arrayValue?[0] == .int(1))
    #expect(parsed["a"]?.arrayValue?[3] == .string("xé😀"))
    #expect(try JSONParser.parse(CanonicalJSON.encode(parsed)) == parsed)
  }

  @Test(arguments: [
    #"{"a":1,"a":2}"#,  // duplicate key
    #"{"a":1,}"#,  // trailing comma
    #"[1 2]"#,
    #"{"a":01}"#,  // leading zero
    #""\ud800""#,  // lone surrogate
    "\"a\u{1}\"",  // raw control character
    #"{"a":1} x"#,  // trailing garbage
    "99999999999999999999",  // beyond Int64
    String(repeating: "[", count: 100) + String(repeating: "]", count: 100),  // too deep
  ])
  func parserRejects(_ text: String) {
    #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(text.utf8)) }
  }
}
