import Foundation
import Support

/// How to reach an OpenAI-compatible API (OpenAI, vLLM, llama.cpp's server, Ollama, OpenRouter, …).
///
/// The API key is read from the environment variable `apiKeyVariable` when a request is made; it is never stored
/// in this value, a cache key, a database, a CSV, a report or a log.
public struct LLMConfiguration: Sendable {
    public var baseURL: URL
    public var model: String
    public var apiKeyVariable: String
    /// Requests in flight at once.
    public var concurrency: Int
    /// Seconds before a request with no answer is abandoned (and retried).
    public var timeout: Double
    /// Retries after the first attempt, on 429, 5xx, time-outs, dropped connections and malformed replies.
    public var retries: Int
    /// First backoff in seconds; doubles each retry, with jitter, capped at `maximumBackoff`.
    public var backoff: Double
    public var maximumBackoff: Double
    /// The SQLite response cache; nil disables caching.
    public var cachePath: String?
    /// Dollars per million prompt / completion tokens, for cost reports.
    public var pricePerMillionPromptTokens: Double?
    public var pricePerMillionCompletionTokens: Double?
    /// Sent as `seed` with every request (with temperature 0), so that a server that honours it answers the same
    /// request the same way; nil sends none.
    public var seed: Int?
    /// How the JSON simulator and the judge ask for a reply that follows their JSON schema.
    public var structuredOutput: StructuredOutput
    /// How the all-at-once simulator reads the prompt log-probabilities a server echoes.
    public var echoAlignment: EchoAlignment

    public init(
        baseURL: URL = URL(string: "https://api.openai.com/v1")!, model: String,
        apiKeyVariable: String = "OPENAI_API_KEY",
        concurrency: Int = 8, timeout: Double = 60, retries: Int = 5, backoff: Double = 1, maximumBackoff: Double = 60,
        cachePath: String? = nil, pricePerMillionPromptTokens: Double? = nil,
        pricePerMillionCompletionTokens: Double? = nil, seed: Int? = 0,
        structuredOutput: StructuredOutput = .jsonSchema, echoAlignment: EchoAlignment = .check
    ) {
        self.baseURL = baseURL
        self.model = model
        self.apiKeyVariable = apiKeyVariable
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.maximumBackoff = maximumBackoff
        self.cachePath = cachePath
        self.pricePerMillionPromptTokens = pricePerMillionPromptTokens
        self.pricePerMillionCompletionTokens = pricePerMillionCompletionTokens
        self.seed = seed
        self.structuredOutput = structuredOutput
        self.echoAlignment = echoAlignment
    }

    /// A request body: `fields` with the model, temperature 0 and the seed, which every plug-in sends.
    func body(_ fields: [String: Any]) -> [String: Any] {
        var body = fields
        body["model"] = model
        body["temperature"] = 0
        if let seed { body["seed"] = seed }
        return body
    }

    /// The key, if the variable is set (local servers often need none).
    var apiKey: String? {
        guard let value = ProcessInfo.processInfo.environment[apiKeyVariable], !value.isEmpty else { return nil }
        SecretRedaction.register(value)
        return value
    }

    /// The base URL as it may be stored or printed: user info and credential-like query values masked.
    public var redactedBaseURL: String { SecretRedaction.redact(baseURL.absoluteString) }

    /// Dollars for this many tokens, if both prices are set.
    public func cost(promptTokens: Int, completionTokens: Int) -> Double? {
        guard let input = pricePerMillionPromptTokens, let output = pricePerMillionCompletionTokens else { return nil }
        return (Double(promptTokens) * input + Double(completionTokens) * output) / 1_000_000
    }
}
