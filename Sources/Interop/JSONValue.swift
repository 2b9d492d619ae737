import Foundation

/// A JSON value with its keys in order, written as OpenAI's orjson writes its dataclasses: non-finite numbers as
/// `null`, Float values in their shortest round-trip form (so that a float16 activation read back through a
/// double lands on the same float16), nothing pretty-printed.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case float(Float)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool { a.text == b.text }

    /// A number, or `null` when it is NaN or infinite.
    static func number(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        return .double(value)
    }

    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(value): out += value ? "true" : "false"
        case let .int(value): out += String(value)
        case let .float(value): out += value.isFinite ? value.description : "null"
        case let .double(value): out += value.isFinite ? value.description : "null"
        case let .string(value): Self.quote(value, into: &out)
        case let .array(values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(to: &out)
            }
            out += "]"
        case let .object(fields):
            out += "{"
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    /// RFC 8259 string escaping (control characters as \u00XX; everything else, non-ASCII included, as is).
    static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension JSONValue {
    /// A parsed JSON value (JSONSerialization's) as a JSONValue, its object keys sorted.
    init(parsed value: Any) {
        switch value {
        case is NSNull: self = .null
        case let number as NSNumber where String(cString: number.objCType) == "c": self = .bool(number.boolValue)
        case let number as NSNumber:
            if let integer = Int(exactly: number.doubleValue), !String(cString: number.objCType).contains("d") {
                self = .int(integer)
            } else {
                self = .double(number.doubleValue)
            }
        case let text as String: self = .string(text)
        case let list as [Any]: self = .array(list.map { JSONValue(parsed: $0) })
        case let object as [String: Any]:
            self = .object(object.keys.sorted().map { ($0, JSONValue(parsed: object[$0]!)) })
        default: self = .string("\(value)")
        }
    }

    /// An Encodable value (e.g. a database's typed metadata) as a JSONValue.
    init<Value: Encodable>(encoding value: Value) throws {
        let data = try JSONEncoder().encode(value)
        self.init(parsed: try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
    }
}
