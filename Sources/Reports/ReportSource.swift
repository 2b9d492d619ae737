import ActivationStore
import Evaluation
import Foundation

/// One unit as a report shows it: its statistics and its records (excerpt id and activations) by kind.
struct ReportUnit {
    struct Record {
        var excerptID: Int
        var activations: [Float]
    }
    var max, min: Float
    var mean, variance, fractionPositive: Double
    var tokenCount: Int
    var quantileBoundaries: [Float]
    var top, random, bottom: [Record]
    var quantiles: [[Record]]
}

/// Where a report's records come from: an activation database (everything), or any `NeuronRecordSource` such as
/// OpenAI's published records (no corpus, model or documents; statistics over the records it holds).
protocol ReportSource {
    /// The header's model, units and corpus lines.
    func header() -> (model: String, units: String, corpus: String)
    func unit(_ id: NeuronID) throws -> ReportUnit
    /// An excerpt's document name, first token and token strings.
    func excerpt(_ id: Int) throws -> (document: String, startToken: Int, tokens: [String])
}

/// A neuronbench activation database.
final class DatabaseReportSource: ReportSource {
    let database: ActivationDatabase
    let path: String
    /// Read on first use, with their errors (a damaged vocabulary is the database's one-line error, not a crash).
    private var vocabulary: [String]?
    private var documents: [Int: String]?

    init(database: ActivationDatabase, path: String) {
        self.database = database
        self.path = path
    }

    func header() -> (model: String, units: String, corpus: String) {
        var model = "–", corpus = "–"
        if let stored = try? database.model() {
            model =
                "n_layer \(stored.layerCount), n_embd \(stored.embeddingSize), n_head \(stored.headCount), "
                + "\(stored.neuronCount) neurons per layer"
        }
        // Databases recorded with bf16 projections or on oneMKL say so (fp32 on OpenBLAS, the default, is not stored).
        if let settings = try? database.settings() {
            if settings.precisionName != PrecomputeSettings.fullPrecisionName {
                model += "; activations recorded with \(settings.precisionName) matrix multiplies"
            }
            if settings.blasName != PrecomputeSettings.defaultBLASName {
                model += "; float32 products on \(settings.blasName)"
            }
        }
        if let stored = try? database.corpus() {
            corpus =
                "path \(stored.path), documents \(stored.documents), tokens \(stored.tokensInExcerpts) in \(stored.excerpts) excerpts"
        }
        return (model, (try? database.source().description) ?? "–", corpus)
    }

    func unit(_ id: NeuronID) throws -> ReportUnit {
        let data = try database.neuron(id)
        let s = data.statistics
        func records(_ stored: [StoredRecord]) -> [ReportUnit.Record] {
            stored.map { .init(excerptID: $0.excerptID, activations: $0.activations) }
        }
        return ReportUnit(
            max: s.max, min: s.min, mean: s.mean, variance: s.variance, fractionPositive: s.fractionPositive,
            tokenCount: s.tokenCount, quantileBoundaries: s.quantileBoundaries, top: records(data.records(.top)),
            random: records(data.records(.random)), bottom: records(data.records(.bottom)),
            quantiles: (0..<s.quantileBoundaries.count).map { records(data.records(.quantile, bucket: $0)) })
    }

    func excerpt(_ id: Int) throws -> (document: String, startToken: Int, tokens: [String]) {
        let vocabulary = try self.vocabulary ?? database.tokenStrings()
        self.vocabulary = vocabulary
        let documents =
            try self.documents
            ?? Dictionary(
                uniqueKeysWithValues: database.documents().map { ($0.id, ($0.source as NSString).lastPathComponent) })
        self.documents = documents
        guard let excerpt = try database.excerpt(id) else {
            throw ReportError.databaseInconsistent(path: path, reason: "a record names missing excerpt \(id)")
        }
        let tokens = try excerpt.tokenIDs.map { token in
            guard vocabulary.indices.contains(token) else {
                throw ReportError.databaseInconsistent(
                    path: path, reason: "excerpt \(id) names token \(token), past the vocabulary's \(vocabulary.count)")
            }
            return vocabulary[token]
        }
        return (documents[excerpt.documentID] ?? "?", excerpt.startToken, tokens)
    }
}

/// Records without a database (OpenAI's `collated-activations`, read by Interop): each excerpt's tokens are those
/// of the records that name it; max, min and the firing frequency are over the unit's records, not the corpus.
final class RecordSourceReport: ReportSource {
    let source: NeuronRecordSource
    let label: String
    private var tokens: [Int: [String]] = [:]

    init(source: NeuronRecordSource, label: String) {
        self.source = source
        self.label = label
    }

    func header() -> (model: String, units: String, corpus: String) {
        ("–", label, "– (statistics over the records; no corpus or documents)")
    }

    func unit(_ id: NeuronID) throws -> ReportUnit {
        let record = try source.record(id)
        let all = record.mostPositive + record.random + record.randomByQuantile.flatMap { $0 } + record.mostNegative
        for r in all where tokens[r.excerptID] == nil { tokens[r.excerptID] = r.tokens }
        let values = all.flatMap(\.activations)
        func records(_ list: [Evaluation.ActivationRecord]) -> [ReportUnit.Record] {
            list.map { .init(excerptID: $0.excerptID, activations: $0.activations) }
        }
        return ReportUnit(
            max: values.max() ?? .nan, min: values.min() ?? .nan, mean: record.mean, variance: record.variance,
            fractionPositive: values.isEmpty ? .nan : Double(values.filter { $0 > 0 }.count) / Double(values.count),
            tokenCount: values.count, quantileBoundaries: record.quantileBoundaries, top: records(record.mostPositive),
            random: records(record.random), bottom: records(record.mostNegative),
            quantiles: record.randomByQuantile.map(records))
    }

    func excerpt(_ id: Int) throws -> (document: String, startToken: Int, tokens: [String]) {
        guard let text = tokens[id] else {
            throw ReportError.databaseInconsistent(
                path: label, reason: "the run names excerpt \(id), which no record holds")
        }
        return ("–", 0, text)
    }
}
