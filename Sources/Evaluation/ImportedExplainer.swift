import ActivationStore
import Foundation

/// Explanations read from a file: CSV with a header naming `layer`, `neuron` and `explanation` columns (any order,
/// other columns ignored), or JSONL with those keys. Rows that cannot be read are reported with their line number
/// and skipped; a neuron the file does not explain is reported as missing, never scored.
public struct ImportedExplainer: Explainer {
    public let path: String
    public let explanations: [NeuronID: String]
    /// "line N: problem" for every row that was skipped.
    public let problems: [String]
    public var name: String { "file:\((path as NSString).lastPathComponent)" }

    public init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvaluationError.invalidImport(path: path, reason: "file not found")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw EvaluationError.invalidImport(path: path, reason: "not valid UTF-8")
        }
        var explanations: [NeuronID: String] = [:]
        var problems: [String] = []
        func add(_ line: Int, _ layer: Int?, _ neuron: Int?, _ explanation: String?) {
            guard let layer, let neuron, layer >= 0, neuron >= 0 else {
                problems.append("line \(line): layer and neuron must be non-negative integers"); return
            }
            guard let explanation, !explanation.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                problems.append("line \(line): empty explanation"); return
            }
            let id = NeuronID(layer: layer, neuron: neuron)
            guard explanations[id] == nil else {
                problems.append("line \(line): neuron \(id) is explained twice; the first is kept"); return
            }
            explanations[id] = explanation
        }
        if path.hasSuffix(".jsonl") || path.hasSuffix(".json") {
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                    problems.append("line \(index + 1): not a JSON object"); continue
                }
                add(
                    index + 1, Self.integer(object["layer"]), Self.integer(object["neuron"]),
                    object["explanation"] as? String)
            }
        } else {
            let rows: [(line: Int, fields: [String])]
            do { rows = try CSV.parse(text) } catch let error as CSV.CSVError {
                throw EvaluationError.invalidImport(path: path, reason: "line \(error.line): \(error.reason)")
            }
            guard let header = rows.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }),
                let layer = header.firstIndex(of: "layer"), let neuron = header.firstIndex(of: "neuron"),
                let explanation = header.firstIndex(of: "explanation")
            else {
                throw EvaluationError.invalidImport(
                    path: path, reason: "line 1: the header must name the columns layer, neuron and explanation")
            }
            for row in rows.dropFirst() {
                guard row.fields.count == header.count else {
                    problems.append("line \(row.line): \(row.fields.count) fields, the header has \(header.count)");
                    continue
                }
                add(
                    row.line, Int(row.fields[layer].trimmingCharacters(in: .whitespaces)),
                    Int(row.fields[neuron].trimmingCharacters(in: .whitespaces)), row.fields[explanation])
            }
        }
        guard !explanations.isEmpty else {
            throw EvaluationError.invalidImport(
                path: path, reason: "no usable explanation (\(problems.prefix(3).joined(separator: "; ")))")
        }
        self.explanations = explanations
        self.problems = problems
    }

    private static func integer(_ value: Any?) -> Int? {
        // JSON true/false arrive as NSNumber too (as 1 and 0): a boolean is not a layer.
        if let number = value as? NSNumber, String(cString: number.objCType) == "c" { return nil }
        if let number = value as? NSNumber, number.doubleValue == number.doubleValue.rounded() {
            return number.intValue
        }
        if let text = value as? String { return Int(text) }
        return nil
    }

    public func explain(_ requests: [ExplainRequest]) async -> [Result<String, EvaluationError>] {
        requests.map { explanations[$0.neuron].map { .success($0) } ?? .failure(.missingExplanation) }
    }
}
