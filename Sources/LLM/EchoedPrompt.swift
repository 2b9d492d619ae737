import Foundation

/// How to read the prompt log-probabilities a completions endpoint echoes (`--llm-echo-alignment`).
///
/// OpenAI's legacy completions, and vLLM, give at position i the distribution of token i given the tokens before
/// it. llama-cpp-python 0.3.36 gives the distribution of token i + 1 instead (its issue #1983): read as OpenAI
/// specifies, every `unknown` would be scored with the wrong distribution, silently.
public enum EchoAlignment: String, Sendable, CaseIterable {
    /// Decide from each reply (the default): at temperature 0 the generated token is the most likely one at its
    /// own position on an aligned server, and at the position before it on a shifted one. Shifted replies are read
    /// corrected; a reply that cannot tell is a failure.
    case check
    /// Trust the server to follow OpenAI (no generated token needed).
    case aligned
    /// Trust the server to be shifted by one position, and correct it.
    case shifted
}

/// The prompt of one completions reply with `echo: true` and `logprobs: N`, its tokens and, at each position,
/// the top candidates for that token given the tokens before it (nil where there are none, e.g. the first).
struct EchoedPrompt {
    var tokens: [String]
    var candidates: [[String: Double]?]
    /// True when the server's lists were shifted by one position and have been realigned.
    var wasShifted: Bool

    static let shiftedServerBug = "shifted by one position, as llama-cpp-python's are (its issue #1983)"

    /// Reads the reply. Only the prompt's positions are kept (by `text_offset` against the prompt's length, else
    /// `usage.completion_tokens`); the one generated token the request asks for is used for the alignment check.
    static func read(_ object: [String: Any], prompt: String, alignment: EchoAlignment) -> Result<Self, LLMError> {
        guard let logprobs = (object["choices"] as? [[String: Any]])?.first?["logprobs"] as? [String: Any],
            let tokens = logprobs["tokens"] as? [String], let top = logprobs["top_logprobs"] as? [Any],
            top.count == tokens.count
        else {
            return .failure(
                .invalidReply(
                    "the reply has no prompt log-probabilities (does the server support echo with logprobs? the json simulator needs neither)"
                ))
        }
        let candidates = top.map { $0 as? [String: Double] }
        let promptCount: Int
        if let offsets = logprobs["text_offset"] as? [Int], offsets.count == tokens.count {
            let length = prompt.unicodeScalars.count
            promptCount = offsets.filter { $0 < length }.count
        } else if let generated = (object["usage"] as? [String: Any])?["completion_tokens"] as? Int,
            (0...tokens.count).contains(generated)
        {
            promptCount = tokens.count - generated
        } else {
            promptCount = tokens.count
        }
        // The generated token: echoed after the prompt (OpenAI, vLLM), or only in the text when the server lists
        // no position it did not evaluate (llama-cpp-python drops the last generated token's).
        let text = (object["choices"] as? [[String: Any]])?.first?["text"] as? String
        let generated =
            promptCount < tokens.count
            ? tokens[promptCount]
            : text.flatMap { text -> String? in
                let rest = text.unicodeScalars.dropFirst(prompt.unicodeScalars.count)
                guard text.unicodeScalars.starts(with: prompt.unicodeScalars), !rest.isEmpty else { return nil }
                return String(String.UnicodeScalarView(rest))
            }
        let shifted: Bool
        switch alignment {
        case .aligned: shifted = false
        case .shifted: shifted = true
        case .check:
            guard promptCount >= 2, let generated else {
                return .failure(
                    .invalidReply(
                        "cannot check the alignment of the echoed log-probabilities: the reply has no generated token after the prompt (set --llm-echo-alignment aligned or shifted if you know the server)"
                    ))
            }
            func isMostLikely(at position: Int) -> Bool {
                guard position < candidates.count, let options = candidates[position], let value = options[generated]
                else { return false }
                return options.values.allSatisfy { $0 <= value }
            }
            switch (isMostLikely(at: promptCount), isMostLikely(at: promptCount - 1)) {
            case (true, false): shifted = false
            case (false, true): shifted = true
            case (let own, _):
                return .failure(
                    .invalidReply(
                        "cannot tell whether the echoed log-probabilities are aligned: the generated token \(generated.debugDescription) is \(own ? "the most likely at its own position and at the one before" : "not the most likely at its own position nor at the one before") (was the request sampled rather than greedy? set --llm-echo-alignment aligned or shifted if you know the server)"
                    ))
            }
        }
        let prompt = Array(tokens[..<promptCount])
        // Shifted: the list at i - 1 is the distribution of token i.
        let aligned = (0..<promptCount).map { i in shifted ? (i > 0 ? candidates[i - 1] : nil) : candidates[i] }
        return .success(EchoedPrompt(tokens: prompt, candidates: aligned, wasShifted: shifted))
    }
}
