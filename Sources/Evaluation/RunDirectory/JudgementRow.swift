import ActivationStore
import Foundation

/// One judged unit × explainer × scorer from judgements.jsonl.gz: every example the judge saw (by excerpt id; the
/// tokens are in the database), its true label, highlights, and the judge's answer. For intruder rows `call` is
/// the trial, `label` marks the intruder and `answer` the judge's pick.
public struct JudgementRow: Sendable, Codable, Equatable {
    public struct Example: Sendable, Codable, Equatable {
        public var excerptID: Int
        public var source: String
        /// 1 for a positive (activating; for fuzzing: truly highlighted), 0 for a negative.
        public var label: Int
        public var highlighted: [Int]
        public var call: Int
        public var position: Int
        /// 1 for yes, 0 for no.
        public var answer: Int
        public var confidence: Double?

        enum CodingKeys: String, CodingKey {
            case excerptID = "excerpt_id", source, label, highlighted, call, position, answer, confidence
        }
    }
    public var layer: Int
    public var neuron: Int
    public var explainer: String
    public var scorer: String
    /// "detection", "fuzzing" or "intruder".
    public var task: String
    public var threshold: Float?
    public var examples: [Example]

    public var id: NeuronID { NeuronID(layer: layer, neuron: neuron) }
    public var pair: EvaluationPair { EvaluationPair(explainer: explainer, scorer: scorer) }

    init(_ e: NeuronEvaluation, _ c: ClassificationScore) {
        self.init(e, task: c.task.rawValue, threshold: c.threshold, c.judgements)
    }

    init(_ e: NeuronEvaluation, _ i: IntruderScore) {
        self.init(e, task: "intruder", threshold: nil, i.judgements)
    }

    private init(_ e: NeuronEvaluation, task: String, threshold: Float?, _ judgements: [Judgement]) {
        layer = e.neuron.layer
        neuron = e.neuron.neuron
        explainer = e.explainer
        scorer = e.scorer
        self.task = task
        self.threshold = threshold
        examples = judgements.map {
            Example(
                excerptID: $0.excerptID, source: $0.source, label: $0.label ? 1 : 0, highlighted: $0.highlighted,
                call: $0.call, position: $0.position, answer: $0.answer.yes ? 1 : 0, confidence: $0.answer.confidence)
        }
    }

    /// The line as written: sorted keys, confidences as given (null when the judge gave none).
    func line() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return Array(try encoder.encode(self)) + [0x0A]
    }
}
