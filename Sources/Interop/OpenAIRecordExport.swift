import ActivationStore
import Evaluation
import Foundation
import Support

/// `export openai`: a database's units as OpenAI's `collated-activations/{layer}/{neuron}.json` tree (plus a
/// sidecar each), and a run's simulation scores as its `explanations/{layer}/{neuron}.jsonl` tree. Each tree is
/// written aside and swapped into place whole, so an interrupted export leaves the previous tree (or none), never
/// a partial one that looks complete.
public enum OpenAIExport {
    public static let recordsFolder = "collated-activations"
    public static let explanationsFolder = "explanations"

    /// Writes `directory/collated-activations/` for `neurons`; returns how many files it wrote.
    @discardableResult
    public static func records(
        from reader: NeuronRecordReader, neurons: [NeuronID], to directory: URL,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> Int {
        let database = reader.database
        let source = try database.source()
        let placements = try database.excerptPlacements()
        let documents = try database.documents()
        let documentNames = Dictionary(uniqueKeysWithValues: documents.map { ($0.id, Self.documentName($0)) })
        var context: [(String, JSONValue)] = [
            ("database", .string(database.path)), ("database_fingerprint", .string(try database.fingerprint())),
            ("units", .string(source.description)),
        ]
        if let settings = try database.settings() { context.append(("settings", try JSONValue(encoding: settings))) }
        if let corpus = try database.corpus() { context.append(("corpus", try JSONValue(encoding: corpus))) }
        return try writeTree(directory, recordsFolder) { staging in
            for (index, id) in neurons.enumerated() {
                let record = try reader.record(id)
                let statistics = try database.neuron(id).statistics
                let folder = staging.appendingPathComponent(String(id.layer), isDirectory: true)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let file = folder.appendingPathComponent("\(id.neuron).json")
                try write(Self.openAIRecord(record).fileText, to: file)
                let listed =
                    record.mostPositive + record.random + record.randomByQuantile.flatMap { $0 }
                    + record.mostNegative
                var seen = Set<Int>()
                let excerptDocuments = listed.map(\.excerptID).filter { seen.insert($0).inserted }.sorted().map {
                    excerpt in
                    let placement = placements[excerpt]
                    return (excerpt, documentNames[placement.documentID] ?? "?", placement.startToken)
                }
                let sidecar = RecordSidecar(
                    mostPositive: record.mostPositive.map(\.excerptID), randomSample: record.random.map(\.excerptID),
                    randomSampleByQuantile: record.randomByQuantile.map { $0.map(\.excerptID) },
                    bottom: record.mostNegative.map {
                        .init(excerptID: $0.excerptID, tokens: $0.tokens, activations: $0.activations)
                    })
                let hook = source.saes.first { $0.layer == id.layer }?.hook ?? "blocks.\(id.layer).mlp.hook_post"
                try write(
                    sidecar.text(
                        statistics: statistics, documents: excerptDocuments,
                        context: context + [("hook", .string(hook))]),
                    to: URL(fileURLWithPath: RecordSidecar.path(besideRecord: file.path)))
                progress(index + 1, neurons.count)
            }
            return neurons.count
        }
    }

    /// A neuronbench record in OpenAI's shape: the top, random and four quantile-bucket records (bottom records
    /// have no place in it), statistics as stored with NaN as `null`.
    public static func openAIRecord(_ record: Evaluation.NeuronRecord) -> OpenAIFormat.NeuronRecord {
        func records(_ list: [Evaluation.ActivationRecord]) -> [OpenAIFormat.ActivationRecord] {
            list.map { OpenAIFormat.ActivationRecord(tokens: $0.tokens, activations: $0.activations) }
        }
        func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }
        return OpenAIFormat.NeuronRecord(
            id: .init(layer: record.id.layer, neuron: record.id.neuron), randomSample: records(record.random),
            randomSampleByQuantile: record.randomByQuantile.map(records),
            quantileBoundaries: record.quantileBoundaries.map(Double.init), mean: finite(record.mean),
            variance: finite(record.variance), skewness: finite(record.skewness), kurtosis: finite(record.kurtosis),
            mostPositive: records(record.mostPositive))
    }

    static func documentName(_ document: DocumentRow) -> String {
        document.line.map { "\(document.source):\($0)" } ?? document.source
    }

    /// Builds `directory/name` in a staging folder beside it and swaps it into place when `body` returns.
    static func writeTree<Result>(_ directory: URL, _ name: String, _ body: (URL) throws -> Result) throws -> Result {
        let destination = directory.appendingPathComponent(name, isDirectory: true)
        let staging = directory.appendingPathComponent(".\(name).partial-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw InteropError.writeFailed(path: destination.path, reason: error.localizedDescription)
        }
        do {
            let result = try body(staging)
            try DirectorySwap.replace(destination.path, with: staging.path)
            return result
        } catch {
            try? FileManager.default.removeItem(at: staging)
            if error is InteropError || error is EvaluationError || error is ActivationStoreError { throw error }
            throw InteropError.writeFailed(path: destination.path, reason: "\(error)")
        }
    }

    static func write(_ text: String, to url: URL) throws {
        do { try Data(text.utf8).write(to: url) } catch {
            throw InteropError.writeFailed(path: url.path, reason: error.localizedDescription)
        }
    }
}
