import ActivationStore

/// One line of explanations.jsonl: an explainer's explanation of a neuron (or why it has none), and the excerpts
/// it was made from.
public struct ExplanationLine: Codable, Equatable, Sendable {
    public var layer: Int
    public var neuron: Int
    public var explainer: String
    public var explanation: String?
    public var error: String?
    public var explainExcerptIDs: [Int]

    enum CodingKeys: String, CodingKey {
        case layer, neuron, explainer, explanation, error, explainExcerptIDs = "explain_excerpt_ids"
    }

    public init(neuron: NeuronID, explainer: String, result: Result<String, EvaluationError>, excerptIDs: [Int]) {
        layer = neuron.layer
        self.neuron = neuron.neuron
        self.explainer = explainer
        switch result {
        case let .success(text): explanation = text
        case let .failure(failure): error = failure.localizedDescription
        }
        explainExcerptIDs = excerptIDs
    }

    public var id: NeuronID { NeuronID(layer: layer, neuron: neuron) }
}
