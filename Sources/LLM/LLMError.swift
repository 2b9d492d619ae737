import Foundation
import Support

/// Why a call to an OpenAI-compatible API gave no usable answer. The plug-ins hand it to the evaluator as the
/// explainer's or simulator's failure, once, so a message reads "simulator failed: <this>".
public enum LLMError: LocalizedError, Equatable, Sendable {
    case invalidRequest(String)
    /// A reply that retrying cannot fix (400, 401, 403, 404, other 4xx).
    case rejected(url: String, status: Int, detail: String, hint: String?)
    /// No usable reply after every attempt (429, 5xx, time-outs, dropped connections, invalid JSON).
    /// `hint` names request options the server may not support when every attempt got the same 5xx.
    case unanswered(url: String, problem: String, attempts: Int, hint: String?)
    /// A reply that arrived but cannot be read as the answer asked for.
    case invalidReply(String)

    /// What went wrong, with every secret masked (a server may echo the Authorization header; a URL may carry
    /// credentials): this text reaches scores.csv, explanations.jsonl and the terminal.
    public var errorDescription: String? { SecretRedaction.redact(description) }

    private var description: String {
        switch self {
        case let .invalidRequest(reason):
            return "could not encode the request: \(reason)"
        case let .rejected(url, status, detail, hint):
            return "\(url) rejected the request (HTTP \(status))\(detail.isEmpty ? "" : ": \(detail)")"
                + (hint.map { ". \($0)" } ?? "")
        case let .unanswered(url, problem, attempts, hint):
            return "\(url): \(problem), after \(attempts) attempts" + (hint.map { ". Hint: \($0)" } ?? "")
        case let .invalidReply(reason):
            return reason
        }
    }
}
