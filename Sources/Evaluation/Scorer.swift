import ActivationStore

/// What a scorer is asked: how well does this explanation describe this unit, judged on its held-out records?
public struct ScoreRequest: Sendable {
    public var neuron: NeuronID
    public var explanation: String
    public var record: NeuronRecord
    /// The excerpts the explainer was shown: no scorer ever scores on them.
    public var shown: Set<Int>

    public init(neuron: NeuronID, explanation: String, record: NeuronRecord, shown: Set<Int>) {
        self.neuron = neuron
        self.explanation = explanation
        self.record = record
        self.shown = shown
    }
}

/// Scores explanations. Receives a chunk of units at once so that it can batch or run its calls concurrently.
public protocol Scorer: Sendable {
    /// The name written in score tables: `simulation:SIMULATOR`, `detection:JUDGE`, `fuzzing:JUDGE`.
    var name: String { get }
    /// One result per request, in order: named metrics (each a value or undefined with its reason), or a failure
    /// (recorded as such, never scored as 0).
    func score(_ requests: [ScoreRequest]) async -> [Result<UnitScore, EvaluationError>]
    /// False for scorers that judge the unit alone (intruder): they run once per unit, with the explainer `-`
    /// and an empty explanation.
    var needsExplanation: Bool { get }
}

extension Scorer {
    public var needsExplanation: Bool { true }
}

/// One unit's scores from one scorer, with what is needed to recompute them.
public enum UnitScore: Sendable {
    case simulation(SimulationScore)
    case classification(ClassificationScore)
    case intruder(IntruderScore)

    /// The metric a summary leads with: correlation for simulation, balanced accuracy for classification.
    public var headline: Score {
        switch self {
        case let .simulation(s): return s.scores.correlation
        case let .classification(c): return c.metrics.balancedAccuracy
        case let .intruder(i): return i.accuracy
        }
    }

    /// Every metric by column name, in column order.
    public var named: [(name: String, score: Score)] {
        switch self {
        case let .simulation(s): return s.scores.named
        case let .classification(c): return c.metrics.named
        case let .intruder(i): return [("accuracy", i.accuracy)]
        }
    }

    /// "metric: reason; …" for the undefined metrics.
    public var notes: String {
        switch self {
        case let .simulation(s): return s.scores.notes
        case let .classification(c): return c.metrics.notes
        case let .intruder(i): return i.accuracy.reason.map { "accuracy: \($0)" } ?? ""
        }
    }
}

/// The kinds of scorer, by the first part of their names, and the metrics each reports (column names).
public enum ScorerKind: String, Sendable, CaseIterable {
    case simulation, detection, fuzzing, intruder

    public init?(scorer name: String) {
        self.init(rawValue: String(name.prefix { $0 != ":" }))
    }

    public var metrics: [String] {
        switch self {
        case .simulation: return ScoreSet.metricNames
        case .detection, .fuzzing: return ClassificationMetrics.metricNames
        case .intruder: return ["accuracy"]
        }
    }

    /// The metric summaries and comparisons lead with.
    public var headline: String {
        switch self {
        case .simulation: return "correlation"
        case .detection, .fuzzing: return "balanced_accuracy"
        case .intruder: return "accuracy"
        }
    }

    /// The headline score whose share summaries report: 0.5 for a correlation; 0.8 for an accuracy, whose chance
    /// level is 0.5 (balanced accuracy) or 1/k (intruder).
    public var shareThreshold: Double { self == .simulation ? 0.5 : 0.8 }
}

/// A simulation scorer's result (OpenAI's method): the scores and every simulated record.
public struct SimulationScore: Sendable {
    public var calibration: CalibrationMethod
    public var scores: ScoreSet
    public var records: [SimulatedRecord]
    public var scoreTopRecords: Int
    public var scoreRandomRecords: Int
    public var scoredTokens: Int
}

/// One example a judge answered about, as recorded in judgements.jsonl.gz.
public struct Judgement: Sendable, Equatable {
    public var excerptID: Int
    /// "top", "quantile:B", "random" or "bottom".
    public var source: String
    /// The true label: the example is activating (detection), or its highlights are the truly active tokens
    /// (fuzzing).
    public var label: Bool
    /// Highlighted token positions (fuzzing).
    public var highlighted: [Int]
    /// Which judge call of this unit it was in, and its place there.
    public var call: Int
    public var position: Int
    public var answer: JudgeAnswer
}

/// A detection or fuzzing scorer's result: the metrics and every judged example.
public struct ClassificationScore: Sendable {
    public var task: JudgeTask
    public var metrics: ClassificationMetrics
    /// The activation at or above which a token counted as active (0 for units that are 0 when silent: above
    /// which); nil when the unit had too few examples to be scored.
    public var threshold: Float?
    public var judgements: [Judgement]
}

/// An intruder scorer's result: the share of trials in which the judge named the intruder (chance 1/k), and every
/// trial's examples and pick.
public struct IntruderScore: Sendable {
    public var accuracy: Score
    public var trials: Int
    /// 1/k.
    public var chance: Double
    /// Per example: `label` marks the intruder, `answer.yes` the judge's pick; `call` is the trial.
    public var judgements: [Judgement]
}
