import ArgumentParser
import Evaluation
import Foundation
import Interop
import LLM

/// Options shared by `evaluate` and `puzzles`: which explainers and scorers, how records are split and how
/// detection and fuzzing choose their examples.
struct EvaluationOptions: ParsableArguments {
    @Option(
        name: .customLong("explainer"),
        help: ArgumentHelp(
            "An explainer (repeatable): \((PluginRegistry.standard.explainerNames + ["llm", "openai:DIR[#best]"]).sorted().joined(separator: ", ")).",
            discussion: "file:PATH imports explanations; shuffled[:EXPLAINER] and constant[:TEXT] are controls."))
    var explainers: [String] = []
    @Option(
        name: .customLong("scorer"),
        help: ArgumentHelp(
            "A scorer (repeatable): simulation:SIMULATOR, detection[:JUDGE], fuzzing[:JUDGE], intruder[:JUDGE] (judge: keyword, the default, or llm).",
            discussion: "Every explainer is scored by every scorer."))
    var scorers: [String] = []
    @Option(
        name: .customLong("simulator"),
        help:
            "Shorthand for --scorer simulation:SIMULATOR (repeatable): \((PluginRegistry.standard.simulatorNames + ["llm (= llm:json)", "llm:all-at-once"]).joined(separator: ", "))."
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
    @Option(help: "Seed of the controls, of random:N neuron selection and of detection and fuzzing's examples.")
    var seed: UInt64 = 0
    @Option(help: "Detection and fuzzing: activating examples per neuron (held-out top records and quantile buckets).")
    var activatingExamples = 20
    @Option(help: "Detection and fuzzing: non-activating examples per neuron (random records, then bottom records).")
    var nonActivatingExamples = 20
    @Option(
        help:
            "Detection and fuzzing: a token is active at this fraction of the neuron's maximum or more (above 0 for units that are 0 when silent)."
    )
    var activationThreshold = 0.2
    @Option(help: "Detection and fuzzing: fewer examples of either kind than this make a neuron's result undefined.")
    var minimumExamples = 5
    @Option(help: "Detection and fuzzing: examples shown per judge call.")
    var examplesPerCall = 5
    @Option(
        help:
            "Fuzzing's negatives: non-activating (highlighted where an activating example is active) or shifted (activating examples, highlights shifted by one)."
    )
    var fuzzingNegatives = ExampleSettings.FuzzingNegatives.nonActivating.rawValue
    @Option(help: "Intruder: examples per trial, the intruder included (chance is 1 in this many).")
    var intruderExamples = 5
    @Option(help: "Intruder: trials per neuron.")
    var intruderTrials = 8
    @Option(
        help:
            "Intruder: non-activating (a non-activating example) or other-bucket (an activating example of another group)."
    )
    var intruderFrom = ExampleSettings.IntruderSource.nonActivating.rawValue

    /// Every scorer named, each once: `--simulator X` first (as `simulation:X`), then `--scorer`s in order.
    var scorerSpecifications: [String] {
        var seen = Set<String>()
        return (simulators.map { "simulation:\($0)" } + scorers).filter { seen.insert($0).inserted }
    }

    func validate() throws {
        guard !scorerSpecifications.isEmpty else {
            throw ValidationError("Give at least one --scorer or --simulator (e.g. --scorer detection:keyword).")
        }
        // Only the intruder score needs no explanation.
        guard !explainers.isEmpty || scorerSpecifications.allSatisfy({ $0.hasPrefix("intruder") }) else {
            throw ValidationError("Give at least one --explainer (e.g. token-list).")
        }
        guard intruderExamples >= 2, intruderTrials > 0 else {
            throw ValidationError("--intruder-examples must be at least 2 and --intruder-trials positive.")
        }
        guard ExampleSettings.IntruderSource(rawValue: intruderFrom) != nil else {
            throw ValidationError("--intruder-from must be non-activating or other-bucket.")
        }
        guard activatingExamples > 0, nonActivatingExamples > 0, examplesPerCall > 0, minimumExamples >= 1 else {
            throw ValidationError(
                "--activating-examples, --non-activating-examples, --examples-per-call and --minimum-examples must be positive."
            )
        }
        guard activationThreshold.isFinite, activationThreshold > 0, activationThreshold <= 1 else {
            throw ValidationError("--activation-threshold must be a fraction in (0, 1], e.g. 0.2.")
        }
        guard ExampleSettings.FuzzingNegatives(rawValue: fuzzingNegatives) != nil else {
            throw ValidationError("--fuzzing-negatives must be non-activating or shifted.")
        }
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
        settings.examples.activating = activatingExamples
        settings.examples.nonActivating = nonActivatingExamples
        settings.examples.thresholdFraction = activationThreshold
        settings.examples.minimum = minimumExamples
        settings.examples.perCall = examplesPerCall
        settings.examples.fuzzingNegatives = ExampleSettings.FuzzingNegatives(rawValue: fuzzingNegatives)!
        settings.examples.intruderExamples = intruderExamples
        settings.examples.intruderTrials = intruderTrials
        settings.examples.intruderSource = ExampleSettings.IntruderSource(rawValue: intruderFrom)!
        return settings
    }

    @OptionGroup var llm: LLMOptions

    var usesLLM: Bool {
        explainers.contains { $0 == "llm" || $0.hasPrefix("shuffled:llm") }
            || scorerSpecifications.contains {
                $0.hasPrefix("simulation:llm") || ["detection:llm", "fuzzing:llm", "intruder:llm"].contains($0)
            }
    }

    /// The plug-ins, and the LLM client if one is used (for its usage ledger).
    func plugins() throws -> ([any Explainer], [any Scorer], LLMClient?) {
        var registry = PluginRegistry.standard
        registry.register(explainer: "openai") { argument, _ in try OpenAIExplainer(argument: argument ?? "") }
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
            registry.register(judge: "llm") { _ in LLMJudge(client: shared) }
        }
        return (
            try explainers.map { try registry.explainer($0, seed: seed) },
            try scorerSpecifications.map { try registry.scorer($0, settings: try settings(), seed: seed) }, client
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
    @Option(help: "Seed sent with every request (all are at temperature 0); none sends no seed.")
    var llmSeed = "0"
    @Option(
        help: ArgumentHelp(
            "How the JSON simulator and the LLM judge ask for a reply that follows their JSON schema: \(StructuredOutput.allCases.map(\.rawValue).joined(separator: ", ")).",
            discussion:
                "json-schema is OpenAI's structured outputs (OpenAI, vLLM, llama.cpp's llama-server, Ollama); json-object-schema is llama-cpp-python's server; json-object asks for JSON without a schema."
        ))
    var llmStructuredOutput = StructuredOutput.jsonSchema.rawValue
    @Option(
        help: ArgumentHelp(
            "How llm:all-at-once reads the echoed prompt log-probabilities: check (decide from each reply), aligned (as OpenAI specifies) or shifted (by one position, as llama-cpp-python 0.3.36 gives them).",
            discussion: "check needs the one generated token each request asks for."))
    var llmEchoAlignment = EchoAlignment.check.rawValue

    func configuration() throws -> LLMConfiguration {
        guard let model = llmModel, !model.isEmpty else {
            throw ValidationError(
                "The LLM plug-ins (--explainer llm, --simulator llm, --scorer detection:llm, fuzzing:llm or intruder:llm) need --llm-model NAME."
            )
        }
        guard let url = URL(string: llmBaseUrl), url.scheme == "http" || url.scheme == "https" else {
            throw ValidationError("--llm-base-url must be an http(s) URL, e.g. http://localhost:8000/v1")
        }
        guard llmConcurrency > 0, llmTimeout > 0, llmRetries >= 0 else {
            throw ValidationError("--llm-concurrency and --llm-timeout must be positive, --llm-retries not negative.")
        }
        guard let structuredOutput = StructuredOutput(rawValue: llmStructuredOutput) else {
            throw ValidationError(
                "--llm-structured-output must be one of \(StructuredOutput.allCases.map(\.rawValue).joined(separator: ", "))."
            )
        }
        guard let echoAlignment = EchoAlignment(rawValue: llmEchoAlignment) else {
            throw ValidationError("--llm-echo-alignment must be check, aligned or shifted.")
        }
        guard llmSeed == "none" || Int(llmSeed) != nil else {
            throw ValidationError("--llm-seed must be a whole number or none.")
        }
        return LLMConfiguration(
            baseURL: url, model: model, apiKeyVariable: llmApiKeyEnv, concurrency: llmConcurrency,
            timeout: llmTimeout, retries: llmRetries, cachePath: llmCache.isEmpty ? nil : llmCache,
            pricePerMillionPromptTokens: llmPriceIn, pricePerMillionCompletionTokens: llmPriceOut,
            seed: Int(llmSeed), structuredOutput: structuredOutput, echoAlignment: echoAlignment)
    }

    func client() throws -> LLMClient { try LLMClient(configuration: try configuration()) }
}
