import Foundation

/// Reads one dataclass object of OpenAI's files from parsed JSON, field by field, so that every problem names the
/// field's path in the file ("scored_explanations[0].explanation: expected a string").
///
/// OpenAI's loader accepts an object with or without `dataclass_name`; a tagged object must name the expected class
/// and, like theirs, an object may hold no key beyond the class's fields (aliases included).
struct JSONReader {
    let path: String
    let location: String
    let object: [String: Any]

    init(_ value: Any?, dataclass: String, fields: [String], path: String, location: String = "") throws {
        self.path = path
        self.location = location
        guard let object = value as? [String: Any] else {
            throw Self.fail(path, location, "expected a \(dataclass) object")
        }
        if let name = object["dataclass_name"] {
            guard let name = name as? String else { throw Self.fail(path, location, "dataclass_name is not a string") }
            guard name == dataclass else {
                throw Self.fail(path, location, "dataclass_name \"\(name)\" where a \(dataclass) belongs")
            }
        }
        let unknown = object.keys.filter { $0 != "dataclass_name" && !fields.contains($0) }.sorted()
        if let first = unknown.first {
            throw Self.fail(path, location, "\(dataclass) has no field \"\(first)\"")
        }
        self.object = object
    }

    static func fail(_ path: String, _ location: String, _ reason: String) -> InteropError {
        .invalidFile(path: path, reason: location.isEmpty ? reason : "\(location): \(reason)")
    }

    func fail(_ key: String, _ reason: String) -> InteropError { Self.fail(path, at(key), reason) }

    func at(_ key: String) -> String { location.isEmpty ? key : "\(location).\(key)" }

    func has(_ key: String) -> Bool { object[key] != nil }

    func raw(_ key: String) -> Any? { object[key] }

    func string(_ key: String) throws -> String {
        guard let value = object[key] as? String else { throw fail(key, "expected a string") }
        return value
    }

    /// An integer; a string of digits too when `allowString` (OpenAI's later code takes "3" as a layer index).
    func integer(_ keys: [String], allowString: Bool = false) throws -> Int {
        guard let key = keys.first(where: { object[$0] != nil }) else {
            throw Self.fail(path, location, "missing \(keys.joined(separator: " or "))")
        }
        let value = object[key]
        if let number = value as? NSNumber, String(cString: number.objCType) != "c",
            number.doubleValue == number.doubleValue.rounded(), let integer = Int(exactly: number.doubleValue)
        {
            return integer
        }
        if allowString, let text = value as? String, let integer = Int(text) { return integer }
        throw fail(key, "expected an integer")
    }

    /// A number or `null` (NaN); missing counts as `null` for the optional score fields.
    func optionalNumber(_ key: String) throws -> Double? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else {
            throw fail(key, "expected a number or null")
        }
        return number.doubleValue
    }

    func number(_ key: String) throws -> Double {
        guard object[key] != nil else { throw fail(key, "missing") }
        return try optionalNumber(key) ?? .nan
    }

    func numbers(_ key: String) throws -> [Double] {
        guard let values = object[key] else { throw fail(key, "missing") }
        return try Self.numbers(values, path: path, location: at(key))
    }

    func numberLists(_ key: String) throws -> [[Double]] {
        guard let values = object[key] as? [Any] else { throw fail(key, "expected a list of lists of numbers") }
        return try values.enumerated().map { index, value in
            try Self.numbers(value, path: path, location: "\(at(key))[\(index)]")
        }
    }

    /// A list of numbers, `null` read as NaN (how OpenAI writes it).
    static func numbers(_ value: Any, path: String, location: String) throws -> [Double] {
        guard let values = value as? [Any] else { throw fail(path, location, "expected a list of numbers") }
        return try values.enumerated().map { index, value in
            if value is NSNull { return .nan }
            guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else {
                throw fail(path, "\(location)[\(index)]", "expected a number")
            }
            return number.doubleValue
        }
    }

    func strings(_ key: String) throws -> [String] {
        guard let values = object[key] as? [Any] else { throw fail(key, "expected a list of strings") }
        return try values.enumerated().map { index, value in
            guard let text = value as? String else {
                throw Self.fail(path, "\(at(key))[\(index)]", "expected a string")
            }
            return text
        }
    }

    func list(_ key: String) throws -> [Any] {
        guard let values = object[key] as? [Any] else { throw fail(key, "expected a list") }
        return values
    }
}
