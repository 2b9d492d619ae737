import ActivationStore
import Foundation

/// One scored neuron × explainer × simulator from simulations.jsonl.gz: per record, the simulator's values and,
/// for scored records, the true activations.
public struct SimulationRow: Sendable, Decodable {
    public struct Record: Sendable, Decodable {
        public var role: SimulatedRecord.Role
        public var excerptID: Int
        public var simulated: [Float?]
        public var actual: [Float?]?
        public var calibrated: [Float?]?
        enum CodingKeys: String, CodingKey { case role, excerptID = "excerpt_id", simulated, actual, calibrated }
    }
    public var layer: Int
    public var neuron: Int
    public var explainer: String
    public var simulator: String
    public var records: [Record]

    public var id: NeuronID { NeuronID(layer: layer, neuron: neuron) }
    public var pair: EvaluationPair { EvaluationPair(explainer: explainer, scorer: "simulation:\(simulator)") }

    /// One line of simulations.jsonl.gz: the scored records with true, simulated and calibrated values, and the
    /// calibration records' simulated values (their true values are in the database, by excerpt id). Numbers are
    /// written at float32 precision, which is what they were computed from.
    static func line(for e: NeuronEvaluation, _ s: SimulationScore) -> [UInt8] {
        func numbers<T: BinaryFloatingPoint>(_ values: [T]) -> String {
            "["
                + values.map { v -> String in
                    let f = Float(v)
                    return f.isFinite ? "\(f)" : "null"
                }.joined(separator: ",") + "]"
        }
        func string(_ text: String) -> String {
            String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
        }
        let records = s.records.map { r -> String in
            var fields =
                "{\"role\":\"\(r.role.rawValue)\",\"excerpt_id\":\(r.excerptID),\"simulated\":\(numbers(r.simulated))"
            if r.role != .calibration {
                fields += ",\"actual\":\(numbers(r.actual)),\"calibrated\":\(numbers(r.calibrated))"
            }
            return fields + "}"
        }
        let line =
            "{\"layer\":\(e.neuron.layer),\"neuron\":\(e.neuron.neuron),\"explainer\":\(string(e.explainer)),"
            + "\"simulator\":\(string(e.pair.simulator ?? "")),\"calibration\":\"\(s.calibration.rawValue)\","
            + "\"records\":[\(records.joined(separator: ","))]}\n"
        return Array(line.utf8)
    }

}
