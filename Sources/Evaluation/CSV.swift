/// RFC 4180 CSV, made safe to open in a spreadsheet.
///
/// Fields are quoted when they contain a comma, quote, CR or LF (quotes doubled); rows end with CRLF. A text cell
/// that begins with `=`, `+`, `-`, `@`, tab or carriage return would run as a formula in Excel, LibreOffice or
/// Google Sheets (explanations come from LLMs and corpora), so it is prefixed with a single quote `'` (OWASP's
/// advice). Numbers are written by `number(_:)` and are never prefixed.
public enum CSV {
    /// A cell: text (neutralised if needed) or a number.
    public enum Cell: Sendable, ExpressibleByStringLiteral {
        case text(String)
        case number(Double)
        case integer(Int)

        public init(stringLiteral value: String) { self = .text(value) }
    }

    public static func row(_ cells: [Cell]) -> String {
        cells.map { cell -> String in
            switch cell {
            case let .text(text): return field(neutralise(text))
            case let .number(x): return number(x)
            case let .integer(i): return String(i)
            }
        }.joined(separator: ",") + "\r\n"
    }

    static func neutralise(_ text: String) -> String {
        // A lone "-" (the explainer of intruder rows) is no formula in any spreadsheet.
        guard text != "-", let first = text.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first)
        else {
            return text
        }
        return "'" + text
    }

    /// Undoes `neutralise` for display.
    static func unneutralised(_ text: String) -> String {
        text.hasPrefix("'") && text.dropFirst().first.map { "=+-@\t\r".contains($0) } == true
            ? String(text.dropFirst()) : text
    }

    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
            return text
        }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Numbers as pandas reads them: shortest round-trip text, "NaN", "inf", "-inf".
    public static func number(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return "\(x)"
    }

    /// Parses CSV text into rows of fields, with the 1-based line on which each row starts. Accepts LF or CRLF.
    public static func parse(_ text: String) throws -> [(line: Int, fields: [String])] {
        var rows: [(Int, [String])] = []
        var fields: [String] = [], field = "", quoted = false, afterQuote = false
        var line = 1, rowLine = 1
        var scalars = Array(text.unicodeScalars)[...]
        func endRow() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty) { rows.append((rowLine, fields)) }
            fields = []; field = ""
        }
        while let c = scalars.popFirst() {
            if quoted {
                if c == "\"" {
                    if scalars.first == "\"" {
                        scalars.removeFirst(); field.unicodeScalars.append(c)
                    } else {
                        quoted = false; afterQuote = true
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty && !afterQuote: quoted = true
            case ",": fields.append(field); field = ""; afterQuote = false
            case "\r": if scalars.first != "\n" { field.unicodeScalars.append(c) }
            case "\n": endRow(); line += 1; rowLine = line; afterQuote = false
            default:
                if afterQuote { throw CSVError(line: line, reason: "text after a closing quote") }
                field.unicodeScalars.append(c)
            }
        }
        if quoted { throw CSVError(line: rowLine, reason: "a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty { endRow() }
        return rows
    }

    public struct CSVError: Error, Equatable {
        public let line: Int
        public let reason: String
    }
}
