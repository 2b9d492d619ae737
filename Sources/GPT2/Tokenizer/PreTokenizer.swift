/// Splits text into the pieces that BPE encodes independently, exactly as GPT-2's regular expression
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// does (tiktoken `r50k_base`). It is a hand-written scanner rather than a `Regex` because it runs over every
/// byte of a corpus: it decodes UTF-8 once, classifies each scalar, and walks the classes with the regex's
/// leftmost-alternative rules spelled out below.
enum PreTokenizer {
    /// The character classes the expression distinguishes.
    enum ScalarClass: UInt8 {
        case letter  // \p{L}: Lu, Ll, Lt, Lm, Lo
        case number  // \p{N}: Nd, Nl, No
        case whitespace  // \s: the Unicode White_Space property
        case other  // everything else (punctuation, symbols, marks, controls)
    }

    static func classify(_ scalar: Unicode.Scalar) -> ScalarClass {
        if scalar.value < 0x80 { return asciiClass[Int(scalar.value)] }
        let properties = scalar.properties
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    private static let asciiClass: [ScalarClass] = (0..<128).map { value in
        switch UInt8(value) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return .letter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case 0x09...0x0D, 0x20: return .whitespace
        default: return .other
        }
    }

    /// Calls `body(start, end)` with the UTF-8 byte range of each piece of `utf8`, in order.
    /// `utf8` must be valid UTF-8 (it comes from a `String`).
    static func split(_ utf8: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        // Decode once: the class, first byte and byte offset of every scalar (offset[count] = utf8.count).
        var classes: [ScalarClass] = []
        var firstByte: [UInt8] = []
        var offset: [Int] = []
        classes.reserveCapacity(utf8.count)
        firstByte.reserveCapacity(utf8.count)
        offset.reserveCapacity(utf8.count + 1)
        var i = 0
        while i < utf8.count {
            let lead = utf8[i]
            offset.append(i)
            firstByte.append(lead)
            if lead < 0x80 {
                classes.append(asciiClass[Int(lead)])
                i += 1
                continue
            }
            let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
            var value = UInt32(lead) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
            for k in 1..<length { value = value << 6 | (UInt32(utf8[i + k]) & 0x3F) }
            classes.append(classify(Unicode.Scalar(value) ?? "\u{FFFD}"))
            i += length
        }
        offset.append(utf8.count)

        let n = classes.count
        let apostrophe = UInt8(ascii: "'"), space = UInt8(ascii: " ")
        func isASCII(_ k: Int, _ c: Character) -> Bool { k < n && firstByte[k] == c.asciiValue! }

        var k = 0
        while k < n {
            let start = k
            // 1. 's 't 're 've 'm 'll 'd (lower case only: "'S" is not split off).
            if firstByte[k] == apostrophe {
                if isASCII(k + 1, "s") || isASCII(k + 1, "t") || isASCII(k + 1, "m") || isASCII(k + 1, "d") {
                    k += 2; body(offset[start], offset[k]); continue
                }
                if (isASCII(k + 1, "r") && isASCII(k + 2, "e")) || (isASCII(k + 1, "v") && isASCII(k + 2, "e"))
                    || (isASCII(k + 1, "l") && isASCII(k + 2, "l"))
                {
                    k += 3; body(offset[start], offset[k]); continue
                }
            }
            // 2-4. An optional single space, then a run of letters, of numbers or of other characters.
            var runStart = k
            if firstByte[k] == space && k + 1 < n && classes[k + 1] != .whitespace { runStart = k + 1 }
            let runClass = classes[runStart]
            if runClass != .whitespace {
                k = runStart + 1
                while k < n && classes[k] == runClass { k += 1 }
                body(offset[start], offset[k]); continue
            }
            // 5-6. Whitespace: `\s+(?!\S)` keeps the last whitespace character for the next piece when text follows
            // (so " word" keeps its space); a single whitespace character before text falls to `\s+`.
            var end = k + 1
            while end < n && classes[end] == .whitespace { end += 1 }
            k = (end < n && end - k >= 2) ? end - 1 : end
            body(offset[start], offset[k])
        }
    }
}
