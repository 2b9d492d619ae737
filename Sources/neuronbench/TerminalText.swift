/// Text from a corpus, a model or a file, made safe to print on a terminal: C0 and C1 control characters (ESC
/// sequences, OSC 52 clipboard writes, bells, carriage returns that overwrite a line) are shown as `\u{1B}`-style
/// escapes instead of being obeyed. Newlines are shown as ⏎ where a token's text is printed on one line.
enum TerminalText {
    static func escaped(_ text: String, newline: String = "⏎") -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A: result += newline
            case 0x00..<0x20, 0x7F..<0xA0: result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
