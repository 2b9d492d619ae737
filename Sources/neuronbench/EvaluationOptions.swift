import ArgumentParser
import Evaluation
import Foundation
import LLM

/// Options shared by `evaluate` and `puzzles`: which explainers and simulators, and how records are split.
struct EvaluationOptions: ParsableArguments {
    @Option(
        name: .customLong("explainer"),
        help: ArgumentHelp(
            "An explainer (repeatable): \((PluginRegistry.standard.explainerNames + ["llm"]).sorted().joined(separator: ", ")).",
            discussion: "file:PATH imports explanations; shuffled[:EXPLAINER] and constant[:TEXT] are controls."))
    var explainers: [String] = []
    @Option(
        name: .customLong("simulator"),
        help:
            "A simulator (repeatable): \((PluginRegistry.standard.simulatorNames + ["llm (= llm:json)", "llm:all-at-once"]).joined(separator: ", "))."
    )
    var simulators: [String] = []
    @Option(
        help:
            "How simulated values are mapped to activations before R² and absolute deviation: none, linear, percentile (fitted on the calibration split)."
    )
    var calibration: String = "linear"
    @Option(help: "Training records shown to the explainer.")
    var explainRecords = 5
    @Option(help: "Scored records: N (N top + N random) or TOP+RANDOM.")
    var scoreRecords = "5"
    @Option(help: "Seed of the controls and of random:N neuron selection.")
    var seed: UInt64 = 0

    func validate() throws {
        guard !explainers.isEmpty else { throw ValidationError("Give at least one --explainer (e.g. token-list).") }
        guard !simulators.isEmpty else { throw ValidationError("Give at least one --simulator (e.g. keyword).") }
        guard CalibrationMethod(rawValue: calibration) != nil else {
            throw ValidationError("--calibration must be none, linear or percentile.")
        }
        guard explainRecords > 0 else { throw ValidationError("--explain-records must be positive.") }
        _ = try scoreSizes()
    }

    func scoreSizes() throws -> (Int, Int) {
        let parts = scoreRecords.split(separator: "+").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(parts.count), parts.allSatisfy({ ($0 ?? -1) >= 0 }) else {
            throw ValidationError("--score-records must be N or TOP+RANDOM, e.g. 5 or 5+5.")
        }
        let (top, random) = (parts[0]!, parts[parts.count - 1]!)
        // Nothing scored would make every correlation NaN: a run with no result that still exits 0.
        guard top + random > 0 else { throw ValidationError("--score-records must score at least one record.") }
        return (top, random)
    }

    func settings() throws -> EvaluationSettings {
        var settings = EvaluationSettings()
        let (top, random) = try scoreSizes()
        settings.splits = RecordSplits.Sizes(explainRecords: explainRecords, scoreTop: top, scoreRandom: random)
        settings.calibration = CalibrationMethod(rawValue: calibration)!
        return settings
    }

    @OptionGroup var llm: LLMOptions

    var usesLLM: Bool {
        (explainers + simulators).contains { $0 == "llm" || $0.hasPrefix("llm:") || $0.hasPrefix("shuffled:llm") }
    }

    /// The plug-ins, and the LLM client if one is used (for its usage ledger).
    func plugins() throws -> ([any Explainer], [any Simulator], LLMClient?) {
        var registry = PluginRegistry.standard
        var client: LLMClient?
        if usesLLM {
            let shared = try llm.client()
            client = shared
            registry.register(explainer: "llm") { _, _ in LLMExplainer(client: shared) }
            registry.register(simulator: "llm") { argument in
                guard let mode = LLMSimulator.Mode(rawValue: argument ?? "json") else {
                    throw EvaluationError.invalidSpecification("--simulator llm:MODE: MODE is json or all-at-once")
                }
                return LLMSimulator(client: shared, mode: mode)
            }
        }
        return (
            try explainers.map { try registry.explainer($0, seed: seed) },
            try simulators.map { try registry.simulator($0) }, client
        )
    }
}

/// `--llm-*`: the OpenAI-compatible endpoint, model, limits, cache and prices.
struct LLMOptions: ParsableArguments {
    @Option(help: "Model name for --explainer llm / --simulator llm.")
    var llmModel: String?
    @Option(help: "Base URL of an OpenAI-compatible API (OpenAI, vLLM, llama.cpp server, Ollama, OpenRouter).")
    var llmBaseUrl = "https://api.openai.com/v1"
    @Option(help: "Environment variable holding the API key (never written anywhere).")
    var llmApiKeyEnv = "OPENAI_API_KEY"
    @Option(help: "Requests in flight at once.")
    var llmConcurrency = 8
    @Option(help: "Seconds before an unanswered request is retried.")
    var llmTimeout = 60.0
    @Option(
        help:
            "Retries on 429, 5xx, time-outs and dropped connections (exponential backoff with jitter, Retry-After honoured)."
    )
    var llmRetries = 5
    @Option(help: "SQLite cache of replies: a re-run makes no call for work already done.")
    var llmCache = ".neuronbench-cache/llm-responses.sqlite"
    @Option(help: "Dollars per million prompt tokens (for cost reports).")
    var llmPriceIn: Double?
    @Option(help: "Dollars per million completion tokens.")
    var llmPriceOut: Double?

    func configuration() throws -> LLMConfiguration {
        guard let model = llmModel, !model.isEmpty else {
            throw ValidationError("--explainer llm and --simulator llm need --llm-model NAME.")
        }
        guard let url = URL(string: llmBaseUrl), url.scheme == "http" || url.scheme == "https" else {
            throw ValidationError("--llm-base-url must be an http(s) URL, e.g. http://localhost:8000/v1")
        }
        guard llmConcurrency > 0, llmTimeout > 0, llmRetries >= 0 else {
            throw ValidationError("--llm-concurrency and --llm-timeout must be positive, --llm-retries not negative.")
        }
        return LLMConfiguration(
            baseURL: url, model: model, apiKeyVariable: llmApiKeyEnv, concurrency: llmConcurrency,
            timeout: llmTimeout, retries: llmRetries, cachePath: llmCache.isEmpty ? nil : llmCache,
            pricePerMillionPromptTokens: llmPriceIn, pricePerMillionCompletionTokens: llmPriceOut)
    }

    func client() throws -> LLMClient { try LLMClient(configuration: try configuration()) }
}
