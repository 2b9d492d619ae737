import ActivationStore
import Evaluation
import Foundation

/// `--explainer llm`: the paper's explainer over a chat-completions API.
///
/// Every LLM plug-in reads its replies through `LLMClient.post(_:_:neuron:read:)`, so a reply it cannot use is a
/// recorded failure that a re-run asks again, never a cached one.
public struct LLMExplainer: Explainer {
    public let client: LLMClient
    public var name: String { "llm(\(client.configuration.model))" }

    public init(client: LLMClient) { self.client = client }

    public func explain(_ requests: [ExplainRequest]) async -> [Result<String, EvaluationError>] {
        await concurrently(requests) { request in
            let body = client.configuration.body([
                "messages": Prompts.explainer(records: request.records), "max_tokens": 60,
            ])
            let reply = await client.post("chat/completions", body, neuron: request.neuron) {
                object -> Result<String, LLMError> in
                guard let text = LLMSimulator.chatContent(object), let explanation = Prompts.cleanExplanation(text)
                else {
                    return .failure(.invalidReply("the reply has no explanation text"))
                }
                return .success(explanation)
            }
            return reply.mapError { .explainerFailed($0.localizedDescription) }
        }
    }
}

/// `--simulator llm:all-at-once` (completions endpoint with prompt log-probabilities, e.g. vLLM) or
/// `--simulator llm:json` (any chat model: an integer per token in a JSON reply).
public struct LLMSimulator: Simulator {
    public enum Mode: String, Sendable, CaseIterable {
        case allAtOnce = "all-at-once"
        case json
    }

    public let client: LLMClient
    public let mode: Mode
    public var name: String { "llm:\(mode.rawValue)(\(client.configuration.model))" }

    public init(client: LLMClient, mode: Mode) {
        self.client = client
        self.mode = mode
    }

    public func simulate(_ requests: [SimulationRequest]) async -> [Result<[Double], EvaluationError>] {
        await concurrently(requests) { request in
            await simulate(request).mapError { .simulatorFailed($0.localizedDescription) }
        }
    }

    func simulate(_ request: SimulationRequest) async -> Result<[Double], LLMError> {
        let configuration = client.configuration
        switch mode {
        case .allAtOnce:
            let prompt = Prompts.allAtOnce(explanation: request.explanation, tokens: request.tokens)
            // One generated token, the fewest the API allows: llama-cpp-python reads `max_tokens: 0` as "until the
            // context is full". The token also shows whether the echoed log-probabilities are aligned.
            let body = configuration.body(["prompt": prompt, "max_tokens": 1, "echo": true, "logprobs": 15])
            let read = await client.post("completions", body, neuron: request.neuron) { object in
                EchoedPrompt.read(object, prompt: prompt, alignment: configuration.echoAlignment).flatMap { echoed in
                    Self.expectedValues(echoed, tokenCount: request.tokens.count).map { ($0, echoed.wasShifted) }
                }
            }
            if case .success((_, true)) = read { await client.ledger.recordShiftedReply() }
            return read.map(\.0)
        case .json:
            var fields: [String: Any] = [
                "messages": Prompts.json(explanation: request.explanation, tokens: request.tokens)
            ]
            fields["response_format"] = configuration.structuredOutput.responseFormat(
                name: "simulated_activations",
                schema: ReplySchema.simulation(tokens: request.tokens, form: configuration.structuredOutput))
            // A schema bounds the reply by itself (a weak model took 28 tokens per entry here); without one, a
            // runaway reply must still end.
            if !configuration.structuredOutput.sendsSchema {
                fields["max_tokens"] = 32 + 32 * request.tokens.count
            }
            return await client.post("chat/completions", configuration.body(fields), neuron: request.neuron) {
                object in
                guard let content = Self.chatContent(object) else {
                    return .failure(.invalidReply("the reply has no message content"))
                }
                return Self.alignJSON(content, tokens: request.tokens)
            }
        }
    }

    /// What a shifted server does, in the words the CLI prints.
    public static let shiftedServerBug = EchoedPrompt.shiftedServerBug

    static func chatContent(_ object: [String: Any]) -> String? {
        (((object["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String)
    }

    /// Σ v·p(v) over "0"…"10" renormalised, at each `unknown` that follows a tab in the echoed prompt, from the
    /// candidates for that position (OpenAI's `top_logprobs`, realigned when the server shifted them).
    static func expectedValues(_ echoed: EchoedPrompt, tokenCount: Int) -> Result<[Double], LLMError> {
        var text = "", values: [Double] = [], inActivations = false
        for (position, token) in echoed.tokens.enumerated() {
            if inActivations && token.trimmingCharacters(in: .whitespaces) == "unknown" && text.hasSuffix("\t") {
                guard let candidates = echoed.candidates[position] else {
                    return .failure(.invalidReply("no top log-probabilities at prompt position \(position)"))
                }
                var weight = 0.0, sum = 0.0
                // In a fixed order: a dictionary's order changes from process to process, and so would the sums'
                // last bits.
                for (candidate, logprob) in candidates.sorted(by: { $0.key < $1.key }) {
                    guard let value = Int(candidate.trimmingCharacters(in: .whitespaces)), (0...10).contains(value)
                    else { continue }
                    weight += exp(logprob)
                    sum += Double(value) * exp(logprob)
                }
                guard weight > 0 else {
                    return .failure(.invalidReply("no probability on 0–10 at activation \(values.count)"))
                }
                values.append(sum / weight)
            }
            text += token
            if !inActivations && text.hasSuffix("Activations:\n<start>\n") { inActivations = true }
        }
        guard values.count == tokenCount else {
            return .failure(
                .invalidReply(
                    "found \(values.count) activation positions in the echoed prompt for \(tokenCount) tokens"))
        }
        return .success(values)
    }

    /// `text` with raw line breaks, tabs and carriage returns inside JSON strings written as escapes.
    static func escapingControlCharactersInStrings(_ text: String) -> String {
        var out = "", inString = false, escaped = false
        for character in text {
            if inString && !escaped {
                switch character {
                case "\n": out += "\\n"; continue
                case "\t": out += "\\t"; continue
                case "\r": out += "\\r"; continue
                default: break
                }
            }
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = inString
            } else if character == "\"" {
                inString.toggle()
            }
            out.append(character)
        }
        return out
    }

    /// Aligns a JSON reply with the excerpt: by index when every entry has a valid one, otherwise by token text in
    /// order (case, surrounding whitespace and escapes ignored, stray entries skipped). Values are clamped to 0–10.
    /// Any excerpt token left without a value makes the whole reply a failure.
    static func alignJSON(_ content: String, tokens: [String]) -> Result<[Double], LLMError> {
        var text = content.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("```") {  // a fenced reply
            text = text.split(separator: "\n").dropFirst().filter { !$0.hasPrefix("```") }.joined(separator: "\n")
        }
        // llama-cpp-python's grammar writes a `const` "\n" as a raw line break inside the string: invalid JSON that
        // is read after escaping such characters.
        let parsed =
            (try? JSONSerialization.jsonObject(with: Data(text.utf8)))
            ?? (try? JSONSerialization.jsonObject(with: Data(escapingControlCharactersInStrings(text).utf8)))
        guard let object = parsed as? [String: Any], let entries = object["activations"] as? [[String: Any]]
        else {
            let shown = text.count > 80 ? text.prefix(80) + "…" : Substring(text)
            return .failure(
                .invalidReply(
                    "the reply is not a JSON object with an \"activations\" list (\(text.count) characters: \(String(shown).debugDescription))"
                ))
        }
        func value(_ entry: [String: Any]) -> Double? {
            (entry["activation"] as? NSNumber).map { min(10, max(0, $0.doubleValue)) }
        }
        let indexed = entries.compactMap { entry -> (Int, Double)? in
            guard let index = entry["index"] as? Int, let v = value(entry) else { return nil }
            return (index, v)
        }
        if indexed.count == entries.count, Set(indexed.map(\.0)) == Set(tokens.indices), indexed.count == tokens.count {
            var values = [Double](repeating: 0, count: tokens.count)
            for (index, v) in indexed { values[index] = v }
            return .success(values)
        }
        func key(_ token: String) -> String {
            Prompts.visible(token).trimmingCharacters(in: .whitespaces).lowercased()
        }
        var values: [Double] = [], next = 0
        for (position, token) in tokens.enumerated() {
            let wanted = key(token)
            var found: Double?
            var probe = next
            while probe < entries.count && probe <= next + 3 {
                if let reply = entries[probe]["token"] as? String,
                    key(reply) == wanted || key(Prompts.visible(reply)) == wanted, let v = value(entries[probe])
                {
                    found = v
                    next = probe + 1
                    break
                }
                probe += 1
            }
            guard let found else {
                return .failure(
                    .invalidReply(
                        "the reply has \(entries.count) entries for \(tokens.count) tokens and none matches token \(position) \(token.debugDescription)"
                    ))
            }
            values.append(found)
        }
        return .success(values)
    }
}
