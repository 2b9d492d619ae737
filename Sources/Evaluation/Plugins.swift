import ActivationStore

/// What an explainer is asked: explain this neuron from these records (the train split).
public struct ExplainRequest: Sendable {
    public var neuron: NeuronID
    public var records: [ActivationRecord]

    public init(neuron: NeuronID, records: [ActivationRecord]) {
        self.neuron = neuron
        self.records = records
    }
}

/// Turns neuron records into a one-sentence explanation. Receives every neuron of a run in one call so that it
/// can batch, run requests concurrently or relate neurons to each other (the controls do).
public protocol Explainer: Sendable {
    /// The name written in score tables, with its options (e.g. "token-list", "file:explanations.csv").
    var name: String { get }
    /// One result per request, in order. A failure is a `.failure` (recorded as such), never an empty string.
    func explain(_ requests: [ExplainRequest]) async -> [Result<String, EvaluationError>]
}

/// What a simulator is asked: given this explanation, predict the neuron's activation on each of these tokens.
public struct SimulationRequest: Sendable, Hashable {
    public var explanation: String
    public var tokens: [String]
    /// The neuron this is for, so that a simulator can account its costs per neuron.
    public var neuron: NeuronID?

    public init(explanation: String, tokens: [String], neuron: NeuronID? = nil) {
        self.explanation = explanation
        self.tokens = tokens
        self.neuron = neuron
    }
}

/// Predicts one value per token, on the 0–10 scale of OpenAI's simulators, from an explanation alone.
public protocol Simulator: Sendable {
    var name: String { get }
    /// One result per request, in order, each with exactly one value per token or a failure.
    func simulate(_ requests: [SimulationRequest]) async -> [Result<[Double], EvaluationError>]
}
