import ActivationStore
import Foundation
import SQLite
import Support

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Token counts of one reply (from the API's `usage`).
public struct Usage: Sendable, Equatable {
    public var promptTokens = 0
    public var completionTokens = 0
    public init(promptTokens: Int = 0, completionTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }
}

/// A client for the chat-completions and completions endpoints that is fast (a concurrency limit), cheap on
/// re-runs (a SQLite cache of replies keyed by a hash of the request) and honest about failures (every failure is
/// returned as an error with its reason; nothing is turned into an empty reply).
///
/// Retried, with exponential backoff and jitter (or as `Retry-After` says): 429, 5xx, time-outs, dropped or
/// refused connections, and replies that are not valid JSON. Not retried: 400, 401, 403, 404 and other 4xx, which
/// get a message saying what to check.
public final class LLMClient: Sendable {
    public let configuration: LLMConfiguration
    public let ledger = UsageLedger()
    private let session: URLSession
    private let limiter: ConcurrencyLimiter
    private let cache: ResponseCache?

    public init(configuration: LLMConfiguration) throws {
        self.configuration = configuration
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.timeoutIntervalForRequest = configuration.timeout
        sessionConfiguration.timeoutIntervalForResource = configuration.timeout
        sessionConfiguration.httpMaximumConnectionsPerHost = max(1, configuration.concurrency)
        session = URLSession(configuration: sessionConfiguration)
        limiter = ConcurrencyLimiter(limit: max(1, configuration.concurrency))
        cache = try configuration.cachePath.map { try ResponseCache(path: $0) }
    }

    /// POSTs `body` to `endpoint` ("chat/completions" or "completions") and returns the reply's JSON object.
    /// `neuron` attributes the tokens spent to a neuron in the ledger.
    public func post(
        _ endpoint: String, _ body: [String: Any], neuron: NeuronID?
    ) async -> Result<[String: Any], LLMError> {
        await post(endpoint, body, neuron: neuron) { .success($0) }
    }

    /// POSTs `body` and reads the reply with `read`. Only a reply that `read` accepts is cached: an unusable one
    /// (too few answers, no JSON list) is a failure now and is asked again on a re-run, never replayed.
    public func post<T>(
        _ endpoint: String, _ body: [String: Any], neuron: NeuronID?,
        read: ([String: Any]) -> Result<T, LLMError>
    ) async -> Result<T, LLMError> {
        let payload: Data
        do { payload = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]) } catch {
            return .failure(.invalidRequest(error.localizedDescription))
        }
        // The cache key covers the endpoint URL and the exact request, never the API key.
        let url = configuration.baseURL.appendingPathComponent(endpoint)
        var hasher = SHA256Hex()
        // Credentials in the URL are not part of a reply's identity (and never reach the cache, even hashed).
        hasher.update(Data(SecretRedaction.redact(url.absoluteString).utf8))
        hasher.update(payload)
        let key = hasher.finalize()
        if let cache, let cached = await cache.get(key),
            let object = try? JSONSerialization.jsonObject(with: cached) as? [String: Any],
            case let .success(value) = read(object)
        {
            await ledger.record(neuron: neuron, usage: Self.usage(object), cached: true)
            return .success(value)
        }
        await limiter.acquire()
        let result = await send(url: url, payload: payload, body: body)
        await limiter.release()
        switch result {
        case let .success((object, data)):
            await ledger.record(neuron: neuron, usage: Self.usage(object), cached: false)
            let value = read(object)
            if let cache, case .success = value { await cache.put(key, data) }
            return value
        case let .failure(error):
            await ledger.recordFailure(neuron: neuron)
            return .failure(error)
        }
    }

    private func send(url: URL, payload: Data, body: [String: Any]) async -> Result<([String: Any], Data), LLMError> {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = payload
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key = configuration.apiKey { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        var lastProblem = ""
        var statuses: [Int] = []
        for attempt in 0...max(0, configuration.retries) {
            var retryAfter: Double?
            do {
                let (data, response) = try await session.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                statuses.append(status)
                if status == 200 {
                    if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                        return .success((object, data))
                    }
                    lastProblem = "the reply is not valid JSON (\(data.count) bytes; truncated?)"
                } else if status == 429 || (500...599).contains(status) {
                    lastProblem = "HTTP \(status)\(Self.message(data).map { ": \($0)" } ?? "")"
                    if let header = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Retry-After"),
                        let seconds = Double(header)
                    {
                        retryAfter = seconds
                    }
                } else {
                    return .failure(
                        Self.rejection(
                            status: status, data: data, url: url, configuration: configuration,
                            sentSchema: body["response_format"] != nil))
                }
            } catch let error as URLError {
                statuses.append(0)
                lastProblem =
                    error.code == .timedOut
                    ? "no answer within \(configuration.timeout) s"
                    : "connection failed (\(error.localizedDescription))"
            } catch {
                statuses.append(0)
                lastProblem = error.localizedDescription
            }
            guard attempt < configuration.retries else { break }
            let exponential = min(configuration.maximumBackoff, configuration.backoff * pow(2, Double(attempt)))
            let delay =
                retryAfter.map { min($0, configuration.maximumBackoff) } ?? exponential * Double.random(in: 0.5...1)
            await ledger.recordRetry()
            try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
        }
        let hint = Set(statuses).count == 1 && (500...599).contains(statuses[0]) ? Self.optionHint(body) : nil
        return .failure(
            .unanswered(
                url: url.absoluteString, problem: lastProblem, attempts: configuration.retries + 1, hint: hint))
    }

    /// When every attempt got the same 5xx, the request is likely the cause, not the load: names the options of
    /// `body` that not every OpenAI-compatible server supports (llama-cpp-python answers `json_schema` with 500).
    static func optionHint(_ body: [String: Any]) -> String? {
        var options: [String] = []
        if let format = body["response_format"] as? [String: Any], let type = format["type"] as? String {
            options.append(
                "response_format \(type)\(format["schema"] != nil ? " with a schema" : "") (--llm-structured-output chooses its form)"
            )
        }
        if body["echo"] as? Bool == true { options.append("echo with logprobs (the json simulator needs neither)") }
        if body["top_logprobs"] != nil { options.append("logprobs/top_logprobs") }
        if body["seed"] != nil { options.append("seed (--llm-seed none sends none)") }
        guard !options.isEmpty else { return nil }
        return "every attempt got the same server error: the server may not support "
            + options.joined(separator: ", or ")
    }

    /// A reply that retrying cannot fix, with what to check.
    static func rejection(
        status: Int, data: Data, url: URL, configuration: LLMConfiguration, sentSchema: Bool = false
    ) -> LLMError {
        let detail = message(data) ?? ""
        let hint: String?
        switch status {
        case 400 where sentSchema && detail.lowercased().contains("schema"):
            hint =
                "The server refused the reply's JSON schema: --llm-structured-output json-object asks for JSON without one (currently \(configuration.structuredOutput.rawValue))"
        case 401, 403: hint = "Check the API key in the environment variable \(configuration.apiKeyVariable)"
        case 404:
            hint =
                "Check the model name (\(configuration.model)) and the base URL (\(configuration.baseURL.absoluteString))"
        default: hint = nil
        }
        return .rejected(url: url.absoluteString, status: status, detail: detail, hint: hint)
    }

    static func message(_ data: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return ((object["error"] as? [String: Any])?["message"] as? String) ?? object["error"] as? String
    }

    static func usage(_ object: [String: Any]) -> Usage {
        let usage = object["usage"] as? [String: Any]
        return Usage(
            promptTokens: usage?["prompt_tokens"] as? Int ?? 0,
            completionTokens: usage?["completion_tokens"] as? Int ?? 0)
    }
}

/// At most `limit` holders at once; the rest wait in order.
actor ConcurrencyLimiter {
    private let limit: Int
    private var inFlight = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    func acquire() async {
        if inFlight < limit { inFlight += 1; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { inFlight -= 1 } else { waiting.removeFirst().resume() }
    }
}

/// Replies by request hash, in SQLite: a re-run makes no call for work already done, an interrupted run resumes.
actor ResponseCache {
    private let database: SQLiteDatabase

    init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        database = try SQLiteDatabase(path: path)
        try database.execute(
            "PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, reply BLOB NOT NULL) WITHOUT ROWID"
        )
    }

    func get(_ key: String) -> Data? {
        (try? database.query("SELECT reply FROM responses WHERE key = ?", [.text(key)]) { Data($0.blob(0)) })?.first
    }

    func put(_ key: String, _ reply: Data) {
        try? database.run(
            "INSERT OR REPLACE INTO responses (key, reply) VALUES (?, ?)", [.text(key), .blob(Array(reply))])
    }
}

/// Calls, retries, failures and tokens, in total and per neuron.
public actor UsageLedger {
    public struct Entry: Sendable, Equatable {
        public var calls = 0, cachedCalls = 0, failedCalls = 0
        public var usage = Usage()
    }

    public private(set) var total = Entry()
    public private(set) var retries = 0
    public private(set) var byNeuron: [NeuronID: Entry] = [:]

    func record(neuron: NeuronID?, usage: Usage, cached: Bool) {
        func add(_ entry: inout Entry) {
            entry.calls += 1
            if cached { entry.cachedCalls += 1 }
            entry.usage.promptTokens += usage.promptTokens
            entry.usage.completionTokens += usage.completionTokens
        }
        add(&total)
        if let neuron { add(&byNeuron[neuron, default: Entry()]) }
    }

    func recordFailure(neuron: NeuronID?) {
        total.calls += 1
        total.failedCalls += 1
        if let neuron {
            byNeuron[neuron, default: Entry()].calls += 1
            byNeuron[neuron, default: Entry()].failedCalls += 1
        }
    }

    func recordRetry() { retries += 1 }

    /// Replies whose echoed log-probabilities were shifted by one position and were read realigned.
    public private(set) var shiftedReplies = 0
    func recordShiftedReply() { shiftedReplies += 1 }
}
