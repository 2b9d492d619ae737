import Foundation

/// run.json: how a run was made and that it finished. Written last, so a directory whose run.json says
/// `complete` holds every other file whole.
public struct RunManifest: Codable, Equatable, Sendable {
    /// The activation database's absolute path (runs written before this was absolute hold the path as given).
    public var database: String
    /// `ActivationDatabase.fingerprint()` of that database, checked by readers that open it again (absent in
    /// older runs).
    public var databaseFingerprint: String?
    /// What the database's units are (`UnitSource.description`: MLP neurons, or which SAEs' latents); absent in
    /// older runs.
    public var units: String?
    /// The neuron selection as given ("all" when none).
    public var neurons: String
    public var explainers: [String]
    /// Every scorer, as named in scores.csv (runs written before scorers existed: `simulation:S` per simulator).
    public var scorers: [String]
    /// The simulators of the simulation scorers.
    public var simulators: [String]
    /// How detection and fuzzing chose their examples (absent in runs written before they existed).
    public var examples: ExampleSettings?
    public var calibration: CalibrationMethod
    public var explainRecords: Int
    public var scoreTopRecords: Int
    public var scoreRandomRecords: Int
    public var seed: UInt64
    /// "neuronbench VERSION".
    public var tool: String
    public var complete = false
    public var neuronsEvaluated = 0
    /// Present when an LLM plug-in ran.
    public var llm: LLMUsage?

    /// What the LLM plug-ins cost (never the key, which is read from the environment).
    public struct LLMUsage: Codable, Equatable, Sendable {
        public var model: String
        public var baseURL: String
        public var calls: Int
        public var cachedCalls: Int
        public var failedCalls: Int
        public var retries: Int
        public var promptTokens: Int
        public var completionTokens: Int
        public var costDollars: Double?

        enum CodingKeys: String, CodingKey {
            case model = "llm_model", baseURL = "llm_base_url", calls = "llm_calls", cachedCalls = "llm_cached_calls"
            case failedCalls = "llm_failed_calls", retries = "llm_retries", promptTokens = "llm_prompt_tokens"
            case completionTokens = "llm_completion_tokens", costDollars = "llm_cost_dollars"
        }

        public init(
            model: String, baseURL: String, calls: Int, cachedCalls: Int, failedCalls: Int, retries: Int,
            promptTokens: Int, completionTokens: Int, costDollars: Double?
        ) {
            self.model = model
            self.baseURL = baseURL
            self.calls = calls
            self.cachedCalls = cachedCalls
            self.failedCalls = failedCalls
            self.retries = retries
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.costDollars = costDollars
        }
    }

    enum CodingKeys: String, CodingKey {
        case database, units, neurons, explainers, scorers, simulators, examples, calibration
        case explainRecords = "explain_records"
        case scoreTopRecords = "score_top_records", scoreRandomRecords = "score_random_records", seed, tool, complete
        case neuronsEvaluated = "neurons_evaluated", databaseFingerprint = "database_fingerprint"
    }

    public init(
        database: String, neurons: String, explainers: [String], scorers: [String], settings: EvaluationSettings,
        seed: UInt64, tool: String
    ) {
        self.database = URL(fileURLWithPath: database).standardizedFileURL.path
        self.neurons = neurons
        self.explainers = explainers
        self.scorers = scorers
        simulators = scorers.compactMap { EvaluationPair(explainer: "", scorer: $0).simulator }
        examples = scorers.contains { ScorerKind(scorer: $0) != .simulation } ? settings.examples : nil
        calibration = settings.calibration
        explainRecords = settings.splits.explainRecords
        scoreTopRecords = settings.splits.scoreTop
        scoreRandomRecords = settings.splits.scoreRandom
        self.seed = seed
        self.tool = tool
    }

    // The LLM fields sit beside the others in one flat object (as run.json always had them).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        database = try c.decode(String.self, forKey: .database)
        neurons = try c.decode(String.self, forKey: .neurons)
        explainers = try c.decode([String].self, forKey: .explainers)
        simulators = try c.decode([String].self, forKey: .simulators)
        scorers = try c.decodeIfPresent([String].self, forKey: .scorers) ?? simulators.map { "simulation:\($0)" }
        examples = try c.decodeIfPresent(ExampleSettings.self, forKey: .examples)
        calibration = try c.decode(CalibrationMethod.self, forKey: .calibration)
        explainRecords = try c.decode(Int.self, forKey: .explainRecords)
        scoreTopRecords = try c.decode(Int.self, forKey: .scoreTopRecords)
        scoreRandomRecords = try c.decode(Int.self, forKey: .scoreRandomRecords)
        seed = try c.decode(UInt64.self, forKey: .seed)
        tool = try c.decode(String.self, forKey: .tool)
        complete = try c.decodeIfPresent(Bool.self, forKey: .complete) ?? false
        neuronsEvaluated = try c.decodeIfPresent(Int.self, forKey: .neuronsEvaluated) ?? 0
        databaseFingerprint = try c.decodeIfPresent(String.self, forKey: .databaseFingerprint)
        units = try c.decodeIfPresent(String.self, forKey: .units)
        let l = try decoder.container(keyedBy: LLMUsage.CodingKeys.self)
        llm = l.contains(.model) ? try LLMUsage(from: decoder) : nil
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(database, forKey: .database)
        try c.encodeIfPresent(units, forKey: .units)
        try c.encode(neurons, forKey: .neurons)
        try c.encode(explainers, forKey: .explainers)
        try c.encode(scorers, forKey: .scorers)
        try c.encode(simulators, forKey: .simulators)
        try c.encodeIfPresent(examples, forKey: .examples)
        try c.encode(calibration, forKey: .calibration)
        try c.encode(explainRecords, forKey: .explainRecords)
        try c.encode(scoreTopRecords, forKey: .scoreTopRecords)
        try c.encode(scoreRandomRecords, forKey: .scoreRandomRecords)
        try c.encode(seed, forKey: .seed)
        try c.encode(tool, forKey: .tool)
        try c.encode(complete, forKey: .complete)
        try c.encode(neuronsEvaluated, forKey: .neuronsEvaluated)
        try c.encodeIfPresent(databaseFingerprint, forKey: .databaseFingerprint)
        try llm?.encode(to: encoder)
    }
}

/// run.json's "examples" object.
extension ExampleSettings: Codable {
    enum CodingKeys: String, CodingKey {
        case activating = "activating_examples", nonActivating = "non_activating_examples"
        case thresholdFraction = "activation_threshold", minimum = "minimum_examples", perCall = "examples_per_call"
        case fuzzingNegatives = "fuzzing_negatives", intruderExamples = "intruder_examples"
        case intruderTrials = "intruder_trials", intruderSource = "intruder_from"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        activating = try c.decode(Int.self, forKey: .activating)
        nonActivating = try c.decode(Int.self, forKey: .nonActivating)
        thresholdFraction = try c.decode(Double.self, forKey: .thresholdFraction)
        minimum = try c.decode(Int.self, forKey: .minimum)
        perCall = try c.decode(Int.self, forKey: .perCall)
        let negatives = try c.decode(String.self, forKey: .fuzzingNegatives)
        guard let parsed = FuzzingNegatives(rawValue: negatives) else {
            throw DecodingError.dataCorruptedError(
                forKey: .fuzzingNegatives, in: c, debugDescription: "unknown fuzzing negatives \"\(negatives)\"")
        }
        fuzzingNegatives = parsed
        intruderExamples = try c.decodeIfPresent(Int.self, forKey: .intruderExamples) ?? intruderExamples
        intruderTrials = try c.decodeIfPresent(Int.self, forKey: .intruderTrials) ?? intruderTrials
        if let source = try c.decodeIfPresent(String.self, forKey: .intruderSource) {
            guard let parsed = IntruderSource(rawValue: source) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .intruderSource, in: c, debugDescription: "unknown intruder source \"\(source)\"")
            }
            intruderSource = parsed
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(activating, forKey: .activating)
        try c.encode(nonActivating, forKey: .nonActivating)
        try c.encode(thresholdFraction, forKey: .thresholdFraction)
        try c.encode(minimum, forKey: .minimum)
        try c.encode(perCall, forKey: .perCall)
        try c.encode(fuzzingNegatives.rawValue, forKey: .fuzzingNegatives)
        try c.encode(intruderExamples, forKey: .intruderExamples)
        try c.encode(intruderTrials, forKey: .intruderTrials)
        try c.encode(intruderSource.rawValue, forKey: .intruderSource)
    }
}
