/// The explainers, simulators, judges and scorers that can be named on the command line.
///
/// Explainers: `token-list`, `file:PATH` (CSV or JSONL), `shuffled` or `shuffled:EXPLAINER` (control; default
/// base token-list), `constant` or `constant:TEXT` (control). Simulators: `keyword`. Judges: `keyword`. Scorers:
/// `simulation:SIMULATOR`, `detection:JUDGE`, `fuzzing:JUDGE`, `intruder:JUDGE` (keyword when omitted). Other modules register more
/// (the LLM backend adds `llm`).
public struct PluginRegistry: Sendable {
    public typealias ExplainerFactory = @Sendable (_ argument: String?, _ seed: UInt64) throws -> any Explainer
    public typealias SimulatorFactory = @Sendable (_ argument: String?) throws -> any Simulator
    public typealias JudgeFactory = @Sendable (_ argument: String?) throws -> any Judge

    public private(set) var explainers: [String: ExplainerFactory] = [:]
    public private(set) var simulators: [String: SimulatorFactory] = [:]
    public private(set) var judges: [String: JudgeFactory] = [:]

    public mutating func register(explainer name: String, _ factory: @escaping ExplainerFactory) {
        explainers[name] = factory
    }
    public mutating func register(simulator name: String, _ factory: @escaping SimulatorFactory) {
        simulators[name] = factory
    }
    public mutating func register(judge name: String, _ factory: @escaping JudgeFactory) {
        judges[name] = factory
    }

    /// The built-in, deterministic plug-ins.
    public static var standard: PluginRegistry {
        var registry = PluginRegistry()
        registry.register(explainer: "token-list") { _, _ in TokenListExplainer() }
        registry.register(explainer: "file") { argument, _ in
            guard let argument, !argument.isEmpty else {
                throw EvaluationError.invalidSpecification("file: needs a path, e.g. file:explanations.csv")
            }
            return try ImportedExplainer(path: argument)
        }
        registry.register(explainer: "constant") { argument, _ in
            if let argument, argument.trimmingCharacters(in: .whitespaces).isEmpty {
                throw EvaluationError.invalidSpecification(
                    "constant: needs a text after the colon (constant:TEXT), or no colon for the pooled token list")
            }
            return ConstantExplainer(text: argument)
        }
        registry.register(simulator: "keyword") { _ in KeywordSimulator() }
        registry.register(judge: "keyword") { _ in KeywordJudge() }
        return registry
    }

    /// Every explainer name this registry accepts, sorted (the controls' `shuffled` included).
    public var explainerNames: [String] { (Array(explainers.keys) + ["shuffled"]).sorted() }
    public var simulatorNames: [String] { simulators.keys.sorted() }
    public var judgeNames: [String] { judges.keys.sorted() }
    /// The scorer names this registry accepts, each with its first simulator or judge.
    public var scorerNames: [String] {
        simulatorNames.map { "simulation:\($0)" }
            + judgeNames.flatMap { ["detection:\($0)", "fuzzing:\($0)", "intruder:\($0)"] }
    }

    /// "name" or "name:argument".
    static func split(_ specification: String) -> (String, String?) {
        guard let colon = specification.firstIndex(of: ":") else { return (specification, nil) }
        return (String(specification[..<colon]), String(specification[specification.index(after: colon)...]))
    }

    public func explainer(_ specification: String, seed: UInt64) throws -> any Explainer {
        let (name, argument) = Self.split(specification)
        if name == "shuffled" {
            return ShuffledExplainer(base: try explainer(argument ?? "token-list", seed: seed), seed: seed)
        }
        guard let factory = explainers[name] else {
            throw EvaluationError.unknownPlugin(kind: "explainer", name: specification, known: explainerNames)
        }
        return try factory(argument, seed)
    }

    public func simulator(_ specification: String) throws -> any Simulator {
        let (name, argument) = Self.split(specification)
        guard let factory = simulators[name] else {
            throw EvaluationError.unknownPlugin(kind: "simulator", name: specification, known: simulatorNames)
        }
        return try factory(argument)
    }

    public func judge(_ specification: String) throws -> any Judge {
        let (name, argument) = Self.split(specification)
        guard let factory = judges[name] else {
            throw EvaluationError.unknownPlugin(kind: "judge", name: specification, known: judgeNames)
        }
        return try factory(argument)
    }

    /// `simulation:SIMULATOR`, `detection[:JUDGE]`, `fuzzing[:JUDGE]` or `intruder[:JUDGE]` (JUDGE keyword when
    /// omitted; a simulation scorer needs its simulator named).
    public func scorer(_ specification: String, settings: EvaluationSettings, seed: UInt64) throws -> any Scorer {
        let (name, argument) = Self.split(specification)
        switch ScorerKind(rawValue: name) {
        case .simulation?:
            guard let argument, !argument.isEmpty else {
                throw EvaluationError.invalidSpecification(
                    "scorer simulation needs a simulator: simulation:SIMULATOR, e.g. simulation:keyword")
            }
            return SimulationScorer(
                simulator: try simulator(argument), splits: settings.splits, calibration: settings.calibration)
        case .intruder?:
            return IntruderScorer(judge: try judge(argument ?? "keyword"), settings: settings.examples, seed: seed)
        case let task?:
            return ClassificationScorer(
                task: task == .detection ? .detection : .fuzzing, judge: try judge(argument ?? "keyword"),
                settings: settings.examples, seed: seed)
        case nil:
            throw EvaluationError.unknownPlugin(kind: "scorer", name: specification, known: scorerNames)
        }
    }
}
