import Foundation

/// How a chat request asks the server to follow a JSON schema (`--llm-structured-output`). A weak model asked only
/// for "JSON" may write anything (llama-cpp-python's `{"type": "json_object"}` alone let a small model run to the
/// end of its context); a schema turns into a grammar that every generated token must follow. Servers spell it
/// differently and none says which spelling it accepts, so the choice is an option, never guessed from failures.
public enum StructuredOutput: String, Sendable, CaseIterable {
    /// OpenAI's structured outputs, `{"type": "json_schema", "json_schema": {"name", "strict": true, "schema"}}`:
    /// OpenAI, vLLM, llama.cpp's `llama-server`, Ollama.
    case jsonSchema = "json-schema"
    /// llama-cpp-python's server: `{"type": "json_object", "schema": …}` (its `json_schema` form gets HTTP 500).
    case jsonObjectSchema = "json-object-schema"
    /// JSON mode without a schema, `{"type": "json_object"}` (the JSON simulator only; the judge sends nothing).
    case jsonObject = "json-object"
    /// No `response_format` at all.
    case none

    /// Whether this form sends the schema itself, so that the server's grammar bounds the reply.
    var sendsSchema: Bool { self == .jsonSchema || self == .jsonObjectSchema }

    /// The `response_format` for a reply that must follow `schema`; nil when this form sends none. `needsJSONMode`
    /// is false for prompts whose text does not ask for JSON (the judge's): OpenAI's JSON mode refuses those.
    func responseFormat(name: String, schema: [String: Any], needsJSONMode: Bool = true) -> [String: Any]? {
        switch self {
        case .jsonSchema:
            return ["type": "json_schema", "json_schema": ["name": name, "strict": true, "schema": schema]]
        case .jsonObjectSchema: return ["type": "json_object", "schema": schema]
        case .jsonObject: return needsJSONMode ? ["type": "json_object"] : nil
        case .none: return nil
        }
    }
}

/// The JSON schemas of the replies the plug-ins read: tight enough that a constrained model can only produce a
/// reply the reader accepts (every excerpt token once, in order, with a whole number 0–10; exactly one 0/1 answer
/// per example; an excerpt number that exists). Only keywords that llama.cpp's grammar converter and OpenAI's
/// strict mode both know are used (`enum` rather than `minimum`/`maximum`).
enum ReplySchema {
    static func object(_ properties: [String: Any]) -> [String: Any] {
        [
            "type": "object", "properties": properties, "required": properties.keys.sorted(),
            "additionalProperties": false,
        ]
    }

    /// The JSON simulator's reply: {"activations": [{"index": i, "token": tokens[i], "activation": 0…10}, …]}.
    /// For llama-cpp-python (`form` .jsonObjectSchema), a token whose JSON spelling needs a backslash (a quote, a
    /// backslash, a control character) is a short free string instead: its grammar converter does not escape
    /// backslashes, so such a `const` either becomes a raw line break or a grammar it cannot parse, and then the
    /// server process dies (seen with 0.3.36). The index still pins the entry, which is what the reader aligns by.
    static func simulation(tokens: [String], form: StructuredOutput = .jsonSchema) -> [String: Any] {
        let entries = tokens.enumerated().map { index, token in
            let needsEscape = token.unicodeScalars.contains { $0 == "\"" || $0 == "\\" || $0.value < 0x20 }
            let text: [String: Any] =
                form == .jsonObjectSchema && needsEscape
                ? ["type": "string", "maxLength": 16] : ["type": "string", "const": token]
            return object([
                "index": ["type": "integer", "const": index] as [String: Any],
                "token": text,
                "activation": ["type": "integer", "enum": Array(0...10)] as [String: Any],
            ])
        }
        return object([
            "activations": [
                "type": "array", "prefixItems": entries, "items": false, "minItems": tokens.count,
                "maxItems": tokens.count,
            ] as [String: Any]
        ])
    }

    /// The detection and fuzzing judge's reply: {"answers": [0 or 1, …]} with one answer per example.
    static func judgeAnswers(count: Int) -> [String: Any] {
        object([
            "answers": [
                "type": "array", "items": ["type": "integer", "enum": [0, 1]] as [String: Any], "minItems": count,
                "maxItems": count,
            ] as [String: Any]
        ])
    }

    /// The intruder judge's reply: {"intruder": 1…count}.
    static func intruder(count: Int) -> [String: Any] {
        object(["intruder": ["type": "integer", "enum": Array(1...max(1, count))] as [String: Any]])
    }
}
