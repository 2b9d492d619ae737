import ActivationStore
import Evaluation
import Foundation

/// The folder of an OpenAI tree: `directory/name` when it exists, else `directory` itself (the user may name the
/// tree or its parent).
func openAITree(_ directory: String, _ name: String) throws -> String {
    var isDirectory: ObjCBool = false
    let inner = (directory as NSString).appendingPathComponent(name)
    if FileManager.default.fileExists(atPath: inner, isDirectory: &isDirectory), isDirectory.boolValue { return inner }
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw InteropError.invalidFile(path: directory, reason: "not found (expected a folder holding \(name)/)")
    }
    return directory
}

/// `--explainer openai:DIR[#best]`: the explanations of an OpenAI `explanations/{layer}/{neuron}.jsonl` tree (as
/// OpenAI published them, or as `export openai --run` writes them). The first `ScoredExplanation` by default,
/// the best-scored with `#best`. A neuron without a file is missing; a file that cannot be read fails its neuron
/// with the file and the reason (never scored).
public struct OpenAIExplainer: Explainer {
    public let tree: String
    public let best: Bool
    public var name: String { "openai:\((tree as NSString).lastPathComponent)\(best ? "#best" : "")" }

    /// `argument` is `DIR` or `DIR#best`.
    public init(argument: String) throws {
        var path = argument
        best = path.hasSuffix("#best")
        if best { path.removeLast("#best".count) }
        guard !path.isEmpty else {
            throw InteropError.invalidRequest("openai: needs a folder, e.g. openai:gpt2-small/explanations")
        }
        tree = try openAITree(path, OpenAIExport.explanationsFolder)
    }

    public func file(_ id: NeuronID) -> String {
        (tree as NSString).appendingPathComponent("\(id.layer)/\(id.neuron).jsonl")
    }

    /// The explanation chosen for `id`: nil when the tree has no file for it.
    public func explanation(_ id: NeuronID) throws -> String? {
        let path = file(id)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let results = try OpenAIFormat.NeuronSimulationResults(file: path)
        guard results.id.layer == id.layer, results.id.neuron == id.neuron else {
            throw InteropError.invalidFile(
                path: path, reason: "holds neuron \(results.id.layer):\(results.id.neuron), not \(id)")
        }
        var chosen = results.scoredExplanations.first
        if best {
            chosen =
                results.scoredExplanations.filter { $0.correlation != nil }.max { $0.correlation! < $1.correlation! }
                ?? chosen
        }
        guard let chosen else { throw InteropError.invalidFile(path: path, reason: "no scored_explanations") }
        guard !chosen.explanation.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw InteropError.invalidFile(path: path, reason: "the explanation is empty")
        }
        return chosen.explanation
    }

    public func explain(_ requests: [ExplainRequest]) async -> [Result<String, EvaluationError>] {
        requests.map { request in
            do {
                guard let text = try explanation(request.neuron) else { return .failure(.missingExplanation) }
                return .success(text)
            } catch {
                return .failure(.explainerFailed(error.localizedDescription))
            }
        }
    }
}

/// `evaluate --records-from DIR`: OpenAI `collated-activations/{layer}/{neuron}.json` files as the record source,
/// so that explanations can be scored on OpenAI's published records without a precompute. Excerpt identity (which
/// the splits need, so that no excerpt shown to the explainer is scored) comes from a neuronbench sidecar when one
/// is beside the file; without one, records with identical tokens are one excerpt.
public final class OpenAIRecordSource: NeuronRecordSource {
    public let tree: String
    private var syntheticIDs: [[String]: Int] = [:]
    /// Synthetic excerpt ids start here, far from any database's.
    static let syntheticBase = 1 << 40

    public init(directory: String) throws {
        tree = try openAITree(directory, OpenAIExport.recordsFolder)
    }

    public func neuronIDs() throws -> [NeuronID] {
        let manager = FileManager.default
        let layers = ((try? manager.contentsOfDirectory(atPath: tree)) ?? []).compactMap { Int($0) }.sorted()
        var ids: [NeuronID] = []
        for layer in layers {
            let names =
                (try? manager.contentsOfDirectory(atPath: (tree as NSString).appendingPathComponent("\(layer)")))
                ?? []
            ids += names.compactMap { name -> NeuronID? in
                guard name.hasSuffix(".json"), let neuron = Int(name.dropLast(5)) else { return nil }
                return NeuronID(layer: layer, neuron: neuron)
            }
        }
        guard !ids.isEmpty else {
            throw InteropError.invalidFile(
                path: tree, reason: "no {layer}/{neuron}.json files (not a collated-activations tree?)")
        }
        return ids.sorted()
    }

    public func file(_ id: NeuronID) -> String {
        (tree as NSString).appendingPathComponent("\(id.layer)/\(id.neuron).json")
    }

    public func record(_ id: NeuronID) throws -> Evaluation.NeuronRecord {
        let path = file(id)
        let record = try OpenAIFormat.NeuronRecord(file: path)
        guard record.id.layer == id.layer, record.id.neuron == id.neuron else {
            throw InteropError.invalidFile(
                path: path, reason: "holds neuron \(record.id.layer):\(record.id.neuron), not \(id)")
        }
        let sidecarPath = RecordSidecar.path(besideRecord: path)
        let sidecar = FileManager.default.fileExists(atPath: sidecarPath) ? try RecordSidecar(file: sidecarPath) : nil
        if let sidecar {
            let expected =
                [record.mostPositive.count, record.randomSample.count] + record.randomSampleByQuantile.map(\.count)
            let found =
                [sidecar.mostPositive.count, sidecar.randomSample.count] + sidecar.randomSampleByQuantile.map(\.count)
            guard expected == found else {
                throw InteropError.invalidFile(
                    path: sidecarPath,
                    reason: "its excerpt ids (\(found)) do not match the record's lists (\(expected))")
            }
        }
        func convert(_ list: [OpenAIFormat.ActivationRecord], _ ids: [Int]?) -> [Evaluation.ActivationRecord] {
            list.enumerated().map { index, r in
                let excerpt = ids?[index] ?? syntheticID(r.tokens)
                return Evaluation.ActivationRecord(excerptID: excerpt, tokens: r.tokens, activations: r.activations)
            }
        }
        return Evaluation.NeuronRecord(
            id: id, mostPositive: convert(record.mostPositive, sidecar?.mostPositive),
            random: convert(record.randomSample, sidecar?.randomSample),
            randomByQuantile: record.randomSampleByQuantile.enumerated().map {
                convert($0.element, sidecar?.randomSampleByQuantile[$0.offset])
            },
            mostNegative: (sidecar?.bottom ?? []).map {
                Evaluation.ActivationRecord(excerptID: $0.excerptID, tokens: $0.tokens, activations: $0.activations)
            },
            quantileBoundaries: record.quantileBoundaries.map(Float.init), mean: record.mean ?? .nan,
            variance: record.variance ?? .nan, skewness: record.skewness ?? .nan, kurtosis: record.kurtosis ?? .nan)
    }

    /// The same id for the same token sequence, across neurons.
    private func syntheticID(_ tokens: [String]) -> Int {
        if let id = syntheticIDs[tokens] { return id }
        let id = Self.syntheticBase + syntheticIDs.count
        syntheticIDs[tokens] = id
        return id
    }
}
