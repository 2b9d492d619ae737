/// Text encodings for a self-contained HTML page. Corpus tokens, explanations and LLM output are untrusted: they
/// reach the page only through `escaped` (HTML text and attributes) or `jsonString` (inside a <script> block,
/// where "<", ">" and "&" are written as \u escapes so no "</script>" or "<!--" can appear).
enum HTMLText {
    /// `text` safe in HTML text and in quoted attribute values.
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A JSON string literal that is also safe inside an HTML <script> element.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}": out += unicodeEscape(scalar.value)
            default:
                if scalar.value < 0x20 { out += unicodeEscape(scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    private static func unicodeEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }

    /// A JSON number with at most three decimals ("0", "-0.042", "3.5"); non-finite values become null.
    static func number(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        let thousandths = Int((x * 1000).rounded())
        if thousandths == 0 { return "0" }
        let magnitude = abs(thousandths)
        var text = (thousandths < 0 ? "-" : "") + String(magnitude / 1000)
        var fraction = magnitude % 1000
        if fraction != 0 {
            var digits = 3
            while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
            let f = String(fraction)
            text += "." + String(repeating: "0", count: digits - f.count) + f
        }
        return text
    }

    static func number(_ x: Float?) -> String { x.map { number(Double($0)) } ?? "null" }

    static func numbers<S: Sequence>(_ values: S) -> String where S.Element == Float {
        "[" + values.map { number(Double($0)) }.joined(separator: ",") + "]"
    }

    /// A score for display: "0.512", or "–" when undefined.
    static func score(_ x: Double) -> String {
        x.isFinite ? String(format: "%.3f", x) : "–"
    }
}

/// Activations packed for the page: two characters per value from the URL-safe base-64 alphabet, a 12-bit level
/// k in 0...4094 meaning (k − 2047) / 2047 × scale, and "__" (4095) for a missing value. The resolution is
/// 1/2047 of the scale (a neuron's largest |activation|), and the text needs no escaping in JSON or HTML.
enum PackedValues {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    static let levels = 2047.0

    static func encode<S: Sequence>(_ values: S, scale: Double) -> String where S.Element == Float {
        var bytes: [UInt8] = []
        for value in values {
            var level = 4095
            if value.isFinite, scale > 0 {
                level = Int((Double(value) / scale * levels).rounded()) + Int(levels)
                level = Swift.min(4094, Swift.max(0, level))
            }
            bytes.append(alphabet[level >> 6])
            bytes.append(alphabet[level & 63])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decode(_ text: String, scale: Double) -> [Double?] {
        let index = Dictionary(uniqueKeysWithValues: alphabet.enumerated().map { ($1, $0) })
        let bytes = Array(text.utf8)
        return stride(from: 0, to: bytes.count - 1, by: 2).map { i in
            let level = index[bytes[i]]! << 6 | index[bytes[i + 1]]!
            return level == 4095 ? nil : (Double(level) - levels) / levels * scale
        }
    }
}
