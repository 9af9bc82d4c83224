/// The regular expressions tokenizers split text with (tokenizer.json's
/// `Split` patterns, GPT-2's byte-level pattern, llama.cpp's pre-tokenizer
/// expressions), matched over Unicode scalars with the leftmost-first,
/// backtracking semantics of Oniguruma (what Hugging Face tokenizers uses)
/// and of llama.cpp's splitter.
///
/// Syntax: literals and escapes (`\r \n \t \f \v \0 \xHH \x{H…} \uHHHH`, an
/// escaped punctuation character), `.`, classes `[…]` with ranges and
/// negation, `\s \S \d \D \w \W`, `\p{…}`/`\P{…}` (general categories: L,
/// Lu, N, Nd, P, …), groups `(…)`, `(?:…)`, `(?i:…)`, lookahead `(?=…)` and
/// `(?!…)`, quantifiers `* + ? {n} {n,} {n,m}` (greedy, lazy with `?`,
/// possessive with `+`), alternation, `^ $ \A \z`. Anything else is refused
/// with its position, never guessed.
public struct Pattern: Sendable {
  public let source: String
  let program: [Inst]
  let subprograms: [[Inst]]
  let sets: [CharSet]

  public struct Failure: Error, Equatable, Sendable {
    public let offset: Int
    public let reason: String
  }

  public init(_ source: String) throws(Failure) {
    self.source = source
    var parser = Parser(Array(source.unicodeScalars).map(\.value))
    let ast = try parser.parseAll()
    var c = Compiler()
    c.emit(ast)
    c.code.append(.match)
    program = c.code
    subprograms = c.subs
    sets = c.sets
  }

  /// The non-empty matches in `text[range]`, left to right.
  public func matches(_ text: UnsafeBufferPointer<UInt32>, in range: Range<Int>) -> [Range<Int>] {
    var out: [Range<Int>] = []
    var stack: [Frame] = []
    var at = range.lowerBound
    while at < range.upperBound {
      if let end = run(program, text, start: at, bounds: range, stack: &stack), end > at {
        out.append(at..<end)
        at = end
      } else {
        at += 1
      }
    }
    return out
  }

  /// Whether the whole of `text[range]` matches (anchored at both ends).
  public func matchLength(_ text: UnsafeBufferPointer<UInt32>, at start: Int, bounds: Range<Int>) -> Int? {
    var stack: [Frame] = []
    return run(program, text, start: start, bounds: bounds, stack: &stack).map { $0 - start }
  }

  struct Frame {
    var pc: Int32
    var sp: Int32
    /// −1: a plain alternative. ≥ 0 for a greedy loop: the lowest position
    /// it may give back to. −2: a lazy loop that may take one more.
    var low: Int32
  }

  func run(_ prog: [Inst], _ s: UnsafeBufferPointer<UInt32>, start: Int, bounds: Range<Int>, stack: inout [Frame]) -> Int? {
    let base = stack.count
    defer { stack.removeSubrange(base...) }
    var pc = 0, sp = start
    let end = bounds.upperBound
    while true {
      var ok = true
      switch prog[pc] {
      case .set(let i):
        if sp < end && sets[i].contains(s[sp]) { sp += 1; pc += 1 } else { ok = false }
      case .split(let a, let b):
        stack.append(Frame(pc: Int32(b), sp: Int32(sp), low: -1))
        pc = a
      case .jmp(let a):
        pc = a
      case .loop(let i, let min, let max, let kind):
        let set = sets[i]
        if kind == .lazy {
          var k = 0
          while k < min && sp + k < end && set.contains(s[sp + k]) { k += 1 }
          if k < min { ok = false; break }
          sp += k
          if max > min { stack.append(Frame(pc: Int32(pc), sp: Int32(sp), low: -2 - Int32(min))) }
          pc += 1
        } else {
          var k = 0
          while k < max && sp + k < end && set.contains(s[sp + k]) { k += 1 }
          if k < min { ok = false; break }
          if kind == .greedy && k > min { stack.append(Frame(pc: Int32(pc), sp: Int32(sp + k - 1), low: Int32(sp + min))) }
          sp += k
          pc += 1
        }
      case .look(let sub, let negative):
        // The lookahead's own frames sit above ours and are gone when it returns.
        let found = run(subprograms[sub], s, start: sp, bounds: bounds, stack: &stack) != nil
        if found != negative { pc += 1 } else { ok = false }
      case .start:
        if sp == bounds.lowerBound { pc += 1 } else { ok = false }
      case .end:
        if sp == end { pc += 1 } else { ok = false }
      case .match:
        return sp
      }
      if ok { continue }
      // Backtrack to the most recent alternative.
      while true {
        guard stack.count > base else { return nil }
        let f = stack.removeLast()
        if f.low == -1 {
          pc = Int(f.pc)
          sp = Int(f.sp)
          break
        }
        guard case .loop(let i, let min, let max, _) = prog[Int(f.pc)] else { return nil }
        if f.low >= 0 {
          // Greedy: give one back and go on after the loop.
          if f.sp > f.low { stack.append(Frame(pc: f.pc, sp: f.sp - 1, low: f.low)) }
          pc = Int(f.pc) + 1
          sp = Int(f.sp)
          break
        }
        // Lazy: take one more, if the set and the bound allow.
        let taken = Int(-2 - f.low)
        let p = Int(f.sp)
        guard taken < max, p < end, sets[i].contains(s[p]) else { continue }
        _ = min
        stack.append(Frame(pc: f.pc, sp: Int32(p + 1), low: -2 - Int32(taken + 1)))
        pc = Int(f.pc) + 1
        sp = p + 1
        break
      }
    }
  }
}

enum LoopKind: Sendable { case greedy, lazy, possessive }

enum Inst: Sendable {
  case set(Int)
  case split(Int, Int)
  case jmp(Int)
  case loop(Int, min: Int, max: Int, kind: LoopKind)
  case look(Int, negative: Bool)
  case start, end
  case match
}

/// A class of scalars: ranges and categories, each possibly negated, under
/// an overall negation; ASCII answered from a bitmap.
struct CharSet: Sendable {
  enum Item: Sendable {
    case range(UInt32, UInt32)
    case categories(UnicodeTable.Mask, negated: Bool)
    case space(negated: Bool)
  }
  var items: [Item] = []
  var negated = false
  var ascii: (UInt64, UInt64) = (0, 0)

  func slowContains(_ c: UInt32) -> Bool {
    var hit = false
    for item in items {
      switch item {
      case .range(let lo, let hi): hit = c >= lo && c <= hi
      case .categories(let m, let neg): hit = (UnicodeTable.mask(c) & m != 0) != neg
      case .space(let neg): hit = UnicodeTable.isWhitespace(c) != neg
      }
      if hit { break }
    }
    return hit != negated
  }

  mutating func seal() {
    var lo: UInt64 = 0, hi: UInt64 = 0
    for c in 0..<UInt32(128) where slowContains(c) {
      if c < 64 { lo |= 1 << UInt64(c) } else { hi |= 1 << UInt64(c - 64) }
    }
    ascii = (lo, hi)
  }

  @inline(__always) func contains(_ c: UInt32) -> Bool {
    if c < 64 { return ascii.0 & (1 << UInt64(c)) != 0 }
    if c < 128 { return ascii.1 & (1 << UInt64(c - 64)) != 0 }
    return slowContains(c)
  }
}

indirect enum Node {
  case set(CharSet)
  case seq([Node])
  case alt([Node])
  case rep(Node, min: Int, max: Int, kind: LoopKind)
  case look(Node, negative: Bool)
  case start, end
}

struct Parser {
  let s: [UInt32]
  var i = 0
  var caseless = false
  init(_ s: [UInt32]) { self.s = s }

  func fail(_ reason: String) -> Pattern.Failure { Pattern.Failure(offset: i, reason: reason) }
  var atEnd: Bool { i >= s.count }
  func peek(_ k: Int = 0) -> UInt32? { i + k < s.count ? s[i + k] : nil }

  mutating func parseAll() throws(Pattern.Failure) -> Node {
    let n = try parseAlt()
    guard atEnd else { throw fail("unbalanced ')'") }
    return n
  }

  mutating func parseAlt() throws(Pattern.Failure) -> Node {
    var branches = [try parseSeq()]
    while peek() == 0x7C {  // |
      i += 1
      branches.append(try parseSeq())
    }
    return branches.count == 1 ? branches[0] : .alt(branches)
  }

  mutating func parseSeq() throws(Pattern.Failure) -> Node {
    var items: [Node] = []
    while let c = peek(), c != 0x7C, c != 0x29 {  // | )
      var atom = try parseAtom()
      atom = try parseQuantifier(atom)
      items.append(atom)
    }
    return items.count == 1 ? items[0] : .seq(items)
  }

  mutating func parseQuantifier(_ atom: Node) throws(Pattern.Failure) -> Node {
    guard let c = peek() else { return atom }
    var min = 0, max = Int.max
    switch c {
    case 0x2A: i += 1  // *
    case 0x2B: i += 1; min = 1  // +
    case 0x3F: i += 1; max = 1  // ?
    case 0x7B:  // {
      guard let (a, b) = try parseBraces() else { return atom }
      min = a
      max = b
    default: return atom
    }
    var kind = LoopKind.greedy
    if peek() == 0x3F { i += 1; kind = .lazy } else if peek() == 0x2B { i += 1; kind = .possessive }
    if case .start = atom { throw fail("quantifier after an anchor") }
    guard min <= max, min <= 10_000 else { throw fail("bad repetition bounds") }
    return .rep(atom, min: min, max: max, kind: kind)
  }

  /// `{n}`, `{n,}`, `{n,m}`; nil (and a literal `{`) otherwise, as Oniguruma.
  mutating func parseBraces() throws(Pattern.Failure) -> (Int, Int)? {
    var j = i + 1
    func number() -> Int? {
      var v = 0, any = false
      while j < s.count, s[j] >= 0x30, s[j] <= 0x39 { v = min(v * 10 + Int(s[j] - 0x30), 1_000_000); j += 1; any = true }
      return any ? v : nil
    }
    guard let a = number() else { return nil }
    var b = a
    if j < s.count, s[j] == 0x2C {
      j += 1
      b = number() ?? Int.max
    }
    guard j < s.count, s[j] == 0x7D else { return nil }
    i = j + 1
    return (a, b)
  }

  mutating func parseAtom() throws(Pattern.Failure) -> Node {
    let c = s[i]
    switch c {
    case 0x28:  // (
      i += 1
      if peek() == 0x3F {  // ?
        i += 1
        switch peek() {
        case 0x3A: i += 1; return try group(caseless: caseless)  // (?:
        case 0x3D: i += 1; return .look(try group(caseless: caseless), negative: false)  // (?=
        case 0x21: i += 1; return .look(try group(caseless: caseless), negative: true)  // (?!
        case 0x69:  // i
          i += 1
          if peek() == 0x3A { i += 1; return try group(caseless: true) }
          if peek() == 0x29 { i += 1; caseless = true; return .seq([]) }
          throw fail("unsupported group flags")
        default: throw fail("unsupported group syntax")
        }
      }
      return try group(caseless: caseless)
    case 0x29: throw fail("unbalanced ')'")
    case 0x5B: return .set(try parseClass())  // [
    case 0x2E:  // .
      i += 1
      var set = CharSet(items: [.range(0x0A, 0x0A)], negated: true)
      set.seal()
      return .set(set)
    case 0x5E: i += 1; return .start  // ^
    case 0x24: i += 1; return .end  // $
    case 0x5C:  // backslash
      i += 1
      guard let e = peek() else { throw fail("trailing backslash") }
      if e == 0x41 { i += 1; return .start }  // \A
      if e == 0x7A || e == 0x5A { i += 1; return .end }  // \z \Z
      var set = CharSet()
      try parseEscape(into: &set)
      set.seal()
      return .set(set)
    case 0x2A, 0x2B, 0x3F: throw fail("nothing to repeat")
    default:
      i += 1
      return .set(literal(c))
    }
  }

  mutating func group(caseless inner: Bool) throws(Pattern.Failure) -> Node {
    let outer = caseless
    caseless = inner
    let n = try parseAlt()
    caseless = outer
    guard peek() == 0x29 else { throw fail("missing ')'") }
    i += 1
    return n
  }

  func literal(_ c: UInt32) -> CharSet {
    var set = CharSet(items: [.range(c, c)])
    if caseless { for v in Self.caseVariants(c) where v != c { set.items.append(.range(v, v)) } }
    set.seal()
    return set
  }

  /// A scalar's simple case partners (one-scalar lower, upper and title
  /// mappings, both ways for ASCII letters, such as K and the Kelvin sign).
  static func caseVariants(_ c: UInt32) -> [UInt32] {
    guard let u = Unicode.Scalar(c) else { return [c] }
    var out: Set<UInt32> = [c]
    for m in [u.properties.lowercaseMapping, u.properties.uppercaseMapping, u.properties.titlecaseMapping] {
      let scalars = Array(m.unicodeScalars)
      if scalars.count == 1 { out.insert(scalars[0].value) }
    }
    if c < 128, let l = Unicode.Scalar(c)?.properties.lowercaseMapping.unicodeScalars.first?.value {
      for other: UInt32 in [0x17F, 0x212A, 0x212B] where Unicode.Scalar(other)?.properties.lowercaseMapping.unicodeScalars.first?.value == l { out.insert(other) }
    }
    return out.sorted()
  }

  mutating func parseClass() throws(Pattern.Failure) -> CharSet {
    i += 1
    var set = CharSet()
    if peek() == 0x5E { set.negated = true; i += 1 }
    var first = true
    while true {
      guard let c = peek() else { throw fail("missing ']'") }
      if c == 0x5D && !first { i += 1; break }
      first = false
      var lo: UInt32
      if c == 0x5C {
        i += 1
        guard let e = peek() else { throw fail("trailing backslash") }
        if let v = Self.simpleEscape(e) {
          i += 1
          lo = v
        } else if e == 0x78 || e == 0x75 {
          lo = try parseHex()
        } else {
          try parseEscape(into: &set)
          continue
        }
      } else if c == 0x5B {
        throw fail("nested or POSIX classes are not supported")
      } else {
        i += 1
        lo = c
      }
      if peek() == 0x2D, let next = peek(1), next != 0x5D {  // a range a-b
        i += 1
        var hi: UInt32
        if next == 0x5C {
          i += 1
          guard let e = peek() else { throw fail("trailing backslash") }
          if let v = Self.simpleEscape(e) { i += 1; hi = v } else if e == 0x78 || e == 0x75 { hi = try parseHex() } else { throw fail("bad range end") }
        } else {
          i += 1
          hi = next
        }
        guard lo <= hi else { throw fail("range out of order") }
        set.items.append(.range(lo, hi))
        if caseless { for v in lo...min(hi, 0x24F) { for w in Self.caseVariants(v) where w != v { set.items.append(.range(w, w)) } } }
      } else {
        set.items.append(.range(lo, lo))
        if caseless { for w in Self.caseVariants(lo) where w != lo { set.items.append(.range(w, w)) } }
      }
    }
    set.seal()
    return set
  }

  static func simpleEscape(_ e: UInt32) -> UInt32? {
    switch e {
    case 0x6E: 0x0A  // n
    case 0x72: 0x0D  // r
    case 0x74: 0x09  // t
    case 0x66: 0x0C  // f
    case 0x76: 0x0B  // v
    case 0x30: 0x00  // 0
    case 0x61: 0x07  // a
    case 0x65: 0x1B  // e
    default:
      // Escaped punctuation stands for itself; letters and digits are classes or errors.
      (e < 128 && !(e >= 0x30 && e <= 0x39) && !(e >= 0x41 && e <= 0x5A) && !(e >= 0x61 && e <= 0x7A)) ? e : nil
    }
  }

  /// After a backslash: a class escape (added to `set`) or a literal.
  mutating func parseEscape(into set: inout CharSet) throws(Pattern.Failure) {
    let e = s[i]
    switch e {
    case 0x73, 0x53: i += 1; set.items.append(.space(negated: e == 0x53))  // \s \S
    case 0x64, 0x44: i += 1; set.items.append(.categories(UnicodeTable.decimal, negated: e == 0x44))  // \d \D
    case 0x77, 0x57:  // \w \W
      i += 1
      set.items.append(.categories(UnicodeTable.letter | UnicodeTable.mark | UnicodeTable.number | UnicodeTable.connector, negated: e == 0x57))
    case 0x70, 0x50:  // \p{..} \P{..}
      i += 1
      var negated = e == 0x50
      var name = ""
      if peek() == 0x7B {
        i += 1
        if peek() == 0x5E { negated.toggle(); i += 1 }
        while let c = peek(), c != 0x7D { name.unicodeScalars.append(Unicode.Scalar(c) ?? " "); i += 1 }
        guard peek() == 0x7D else { throw fail("missing '}'") }
        i += 1
      } else if let c = peek() {
        name = String(Unicode.Scalar(c) ?? " ")
        i += 1
      }
      guard let m = UnicodeTable.codes[name] else { throw fail("unknown property '\(name)'") }
      set.items.append(.categories(m, negated: negated))
    case 0x78, 0x75:  // \x \u
      let v = try parseHex()
      set.items.append(.range(v, v))
      if caseless { for w in Self.caseVariants(v) where w != v { set.items.append(.range(w, w)) } }
    default:
      guard let v = Self.simpleEscape(e) else { throw fail("unsupported escape") }
      i += 1
      set.items.append(.range(v, v))
      if caseless { for w in Self.caseVariants(v) where w != v { set.items.append(.range(w, w)) } }
    }
  }

  /// `\xHH`, `\x{H…}`, `\uHHHH` (at the x or u).
  mutating func parseHex() throws(Pattern.Failure) -> UInt32 {
    let u = s[i] == 0x75
    i += 1
    func digit(_ c: UInt32) -> UInt32? {
      switch c {
      case 0x30...0x39: c - 0x30
      case 0x41...0x46: c - 0x41 + 10
      case 0x61...0x66: c - 0x61 + 10
      default: nil
      }
    }
    var v: UInt32 = 0
    if !u && peek() == 0x7B {
      i += 1
      var n = 0
      while let c = peek(), let d = digit(c) { v = v &* 16 &+ d; i += 1; n += 1 }
      guard n > 0, n <= 6, peek() == 0x7D, v < 0x110000 else { throw fail("bad \\x{…}") }
      i += 1
      return v
    }
    for _ in 0..<(u ? 4 : 2) {
      guard let c = peek(), let d = digit(c) else { throw fail("bad hex escape") }
      v = v * 16 + d
      i += 1
    }
    return v
  }
}

struct Compiler {
  var code: [Inst] = []
  var subs: [[Inst]] = []
  var sets: [CharSet] = []

  mutating func set(_ s: CharSet) -> Int {
    sets.append(s)
    return sets.count - 1
  }

  mutating func emit(_ n: Node) {
    switch n {
    case .set(let s): code.append(.set(set(s)))
    case .seq(let items): for x in items { emit(x) }
    case .alt(let branches):
      var jumps: [Int] = []
      for (k, b) in branches.enumerated() {
        if k < branches.count - 1 {
          let split = code.count
          code.append(.split(split + 1, 0))
          emit(b)
          jumps.append(code.count)
          code.append(.jmp(0))
          code[split] = .split(split + 1, code.count)
        } else {
          emit(b)
        }
      }
      for j in jumps { code[j] = .jmp(code.count) }
    case .rep(let body, let min, let max, let kind):
      if case .set(let s) = body {
        code.append(.loop(set(s), min: min, max: max, kind: kind))
        return
      }
      // General body: min copies, then optional ones (a loop when unbounded).
      // Possessive bodies other than one class backtrack like greedy ones.
      for _ in 0..<min { emit(body) }
      if max == Int.max {
        let top = code.count
        code.append(.split(0, 0))
        emit(body)
        code.append(.jmp(top))
        code[top] = kind == .lazy ? .split(code.count, top + 1) : .split(top + 1, code.count)
      } else if max > min {
        var splits: [Int] = []
        for _ in min..<max {
          splits.append(code.count)
          code.append(.split(0, 0))
          emit(body)
        }
        for s in splits { code[s] = kind == .lazy ? .split(code.count, s + 1) : .split(s + 1, code.count) }
      }
    case .look(let body, let negative):
      var sub = Compiler()
      sub.sets = sets
      sub.subs = subs
      sub.emit(body)
      sub.code.append(.match)
      sets = sub.sets
      subs = sub.subs
      subs.append(sub.code)
      code.append(.look(subs.count - 1, negative: negative))
    case .start: code.append(.start)
    case .end: code.append(.end)
    }
  }
}
