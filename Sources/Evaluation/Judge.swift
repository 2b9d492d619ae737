import ActivationStore

/// What a classification scorer asks its judge.
public enum JudgeTask: String, Sendable, Codable {
    /// "Does the unit fire on this excerpt?" — plain excerpts.
    case detection
    /// "Are the highlighted tokens the ones the explanation describes?" — excerpts with highlighted tokens.
    case fuzzing
}

/// One excerpt shown to a judge.
public struct JudgeExample: Sendable, Hashable {
    public var tokens: [String]
    /// Positions of the highlighted tokens (fuzzing); empty for detection.
    public var highlighted: [Int]

    public init(tokens: [String], highlighted: [Int] = []) {
        self.tokens = tokens
        self.highlighted = highlighted
    }
}

/// One judge call: an explanation and a batch of examples (5 by default, shuffled so that position says nothing).
public struct JudgeRequest: Sendable, Hashable {
    public var task: JudgeTask
    public var explanation: String
    public var examples: [JudgeExample]
    /// The unit this is for, so that a judge can account its costs per unit.
    public var neuron: NeuronID?

    public init(task: JudgeTask, explanation: String, examples: [JudgeExample], neuron: NeuronID? = nil) {
        self.task = task
        self.explanation = explanation
        self.examples = examples
        self.neuron = neuron
    }
}

/// A judge's answer about one example: yes or no, and optionally how sure (the probability of yes, for AUROC).
public struct JudgeAnswer: Sendable, Equatable {
    public var yes: Bool
    public var confidence: Double?

    public init(yes: Bool, confidence: Double? = nil) {
        self.yes = yes
        self.confidence = confidence
    }
}

/// One intruder question: k excerpts with their active tokens highlighted, all from one unit but one.
public struct IntruderRequest: Sendable, Hashable {
    public var examples: [JudgeExample]
    /// The unit this is for, so that a judge can account its costs per unit.
    public var neuron: NeuronID?

    public init(examples: [JudgeExample], neuron: NeuronID? = nil) {
        self.examples = examples
        self.neuron = neuron
    }
}

/// Answers detection and fuzzing questions about excerpts from an explanation alone, and names the odd excerpt
/// out (intruder) with no explanation at all. The keyword judge (local) and the LLM judge (any OpenAI-compatible
/// API) implement it.
public protocol Judge: Sendable {
    /// The name in scorer names (`detection:NAME`).
    var name: String { get }
    /// One result per request, in order, each with exactly one answer per example or a failure (recorded as
    /// such: never read as a "no").
    func judge(_ requests: [JudgeRequest]) async -> [Result<[JudgeAnswer], EvaluationError>]
    /// One result per request, in order: the index of the example the judge takes for the intruder, or a failure
    /// (never read as a wrong pick).
    func pickIntruder(_ requests: [IntruderRequest]) async -> [Result<Int, EvaluationError>]
}
