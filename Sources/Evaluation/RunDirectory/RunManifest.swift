import Foundation

/// run.json: how a run was made and that it finished. Written last, so a directory whose run.json says
/// `complete` holds every other file whole.
public struct RunManifest: Codable, Equatable, Sendable {
    /// The activation database's absolute path (runs written before this was absolute hold the path as given).
    public var database: String
    /// `ActivationDatabase.fingerprint()` of that database, checked by readers that open it again (absent in
    /// older runs).
    public var databaseFingerprint: String?
    /// The neuron selection as given ("all" when none).
    public var neurons: String
    public var explainers: [String]
    public var simulators: [String]
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
        case database, neurons, explainers, simulators, calibration, explainRecords = "explain_records"
        case scoreTopRecords = "score_top_records", scoreRandomRecords = "score_random_records", seed, tool, complete
        case neuronsEvaluated = "neurons_evaluated", databaseFingerprint = "database_fingerprint"
    }

    public init(
        database: String, neurons: String, explainers: [String], simulators: [String], settings: EvaluationSettings,
        seed: UInt64, tool: String
    ) {
        self.database = URL(fileURLWithPath: database).standardizedFileURL.path
        self.neurons = neurons
        self.explainers = explainers
        self.simulators = simulators
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
        calibration = try c.decode(CalibrationMethod.self, forKey: .calibration)
        explainRecords = try c.decode(Int.self, forKey: .explainRecords)
        scoreTopRecords = try c.decode(Int.self, forKey: .scoreTopRecords)
        scoreRandomRecords = try c.decode(Int.self, forKey: .scoreRandomRecords)
        seed = try c.decode(UInt64.self, forKey: .seed)
        tool = try c.decode(String.self, forKey: .tool)
        complete = try c.decodeIfPresent(Bool.self, forKey: .complete) ?? false
        neuronsEvaluated = try c.decodeIfPresent(Int.self, forKey: .neuronsEvaluated) ?? 0
        databaseFingerprint = try c.decodeIfPresent(String.self, forKey: .databaseFingerprint)
        let l = try decoder.container(keyedBy: LLMUsage.CodingKeys.self)
        llm = l.contains(.model) ? try LLMUsage(from: decoder) : nil
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(database, forKey: .database)
        try c.encode(neurons, forKey: .neurons)
        try c.encode(explainers, forKey: .explainers)
        try c.encode(simulators, forKey: .simulators)
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
