import ActivationStore
import Evaluation
import Foundation
import Support

/// `export neuronpedia`: a database's units and a run's explanations as a Neuronpedia export, laid out as
/// Neuronpedia's converter lays it out (`{out}/{modelId}/{sourceId}/{features,activations,explanations}/
/// batch-N.jsonl.gz`), with the field names and types of its importer's models (`neuronpedia_utils/db_models`:
/// Feature, Activation, Explanation; Schemas/interop.md lists them). One Neuronpedia source per layer: the source id
/// is `--source-id` with `{layer}` replaced (Neuronpedia's ids are `LAYER-SET`, e.g. `gpt2-small/6-res-jb/1234`).
public enum NeuronpediaExport {
    public struct Options: Sendable {
        public var modelID: String
        /// The source id, `{layer}` standing for the layer (required when the database has several layers).
        public var sourceID: String
        public var creatorID = "neuronbench"
        /// Features per batch file (Neuronpedia's dashboards are generated 128 features per batch).
        public var batchSize = 128
        /// `createdAt` of every object (ISO 8601).
        public var createdAt: String

        public init(modelID: String, sourceID: String, createdAt: String) {
            self.modelID = modelID
            self.sourceID = sourceID
            self.createdAt = createdAt
        }

        public func source(layer: Int) -> String {
            sourceID.replacingOccurrences(of: "{layer}", with: String(layer))
        }
    }

    public struct Summary: Equatable, Sendable {
        public var sources: [String] = []
        public var features = 0
        public var activations = 0
        public var explanations = 0
        public var batches = 0
    }

    /// Writes the export for `neurons` (features and activations) and `run`'s explanations of them.
    public static func write(
        reader: NeuronRecordReader, run: RunContents?, neurons: [NeuronID], options: Options, to directory: URL
    ) throws -> Summary {
        let layers = Array(Set(neurons.map(\.layer))).sorted()
        guard layers.count <= 1 || options.sourceID.contains("{layer}") else {
            throw InteropError.invalidRequest(
                "the units span layers \(layers.map(String.init).joined(separator: ", ")), one Neuronpedia source each: put {layer} in --source-id (e.g. {layer}-mlp-neuronbench)"
            )
        }
        for field in [options.modelID, options.sourceID] where field.isEmpty || field.contains("/") {
            throw InteropError.invalidRequest("--model-id and --source-id must be non-empty and contain no /")
        }
        let source = try reader.database.source()
        var summary = Summary()
        let model = directory.appendingPathComponent(options.modelID, isDirectory: true)
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for layer in layers {
            let sourceID = options.source(layer: layer)
            let units = neurons.filter { $0.layer == layer }
            let hook = source.saes.first { $0.layer == layer }?.hook
            try OpenAIExport.writeTree(model, sourceID) { staging in
                for (batch, start) in stride(from: 0, to: units.count, by: max(1, options.batchSize)).enumerated() {
                    let chunk = units[start..<min(start + max(1, options.batchSize), units.count)]
                    var features: [JSONValue] = [], activations: [JSONValue] = [], explanations: [JSONValue] = []
                    for id in chunk {
                        let record = try reader.record(id)
                        let statistics = try reader.database.neuron(id).statistics
                        features.append(feature(id, record, statistics, hook: hook, sourceID, options))
                        activations += self.activations(id, record, sourceID, options)
                        explanations += self.explanations(id, run, sourceID, options)
                    }
                    for (folder, lines) in [
                        ("features", features), ("activations", activations), ("explanations", explanations),
                    ] where !lines.isEmpty {
                        let url = staging.appendingPathComponent(folder, isDirectory: true)
                        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
                        let path = url.appendingPathComponent("batch-\(batch).jsonl.gz").path
                        let writer = try GzipWriter(path: path)
                        try writer.write(Array(lines.map { $0.text + "\n" }.joined().utf8))
                        try writer.close()
                    }
                    summary.features += features.count
                    summary.activations += activations.count
                    summary.explanations += explanations.count
                    summary.batches += 1
                }
            }
            summary.sources.append("\(options.modelID)/\(sourceID)")
        }
        return summary
    }

    /// A `Feature`: what neuronbench has (the maximum, the firing frequency, the histogram, the hook); every
    /// field it has nothing for (vectors, logit lens, correlated neurons) at the importer's default.
    static func feature(
        _ id: NeuronID, _ record: Evaluation.NeuronRecord, _ s: NeuronStatistics, hook: String?, _ sourceID: String,
        _ options: Options
    ) -> JSONValue {
        let empty = JSONValue.array([])
        let edges = s.histogramEdges
        let centres = edges.count >= 2 ? (0..<(edges.count - 1)).map { Double(edges[$0] + edges[$0 + 1]) / 2 } : []
        return .object([
            ("modelId", .string(options.modelID)), ("layer", .string(sourceID)), ("index", .string(String(id.neuron))),
            ("creatorId", .string(options.creatorID)), ("createdAt", .string(options.createdAt)),
            ("maxActApprox", .number(Double(record.mostPositive.map(\.maxActivation).max() ?? 0))),
            ("hasVector", .bool(false)), ("vector", empty), ("vectorLabel", .null),
            ("vectorDefaultSteerStrength", .double(10)), ("hookName", hook.map(JSONValue.string) ?? .null),
            ("topkCosSimIndices", empty), ("topkCosSimValues", empty), ("neuron_alignment_indices", empty),
            ("neuron_alignment_values", empty), ("neuron_alignment_l1", empty), ("correlated_neurons_indices", empty),
            ("correlated_neurons_pearson", empty), ("correlated_neurons_l1", empty),
            ("correlated_features_indices", empty), ("correlated_features_pearson", empty),
            ("correlated_features_l1", empty), ("neg_str", empty), ("neg_values", empty), ("pos_str", empty),
            ("pos_values", empty), ("frac_nonzero", .number(s.fractionPositive)),
            ("freq_hist_data_bar_heights", .array(s.histogram.map { JSONValue.double(Double($0)) })),
            ("freq_hist_data_bar_values", .array(centres.map { JSONValue.number($0) })),
            ("logits_hist_data_bar_heights", empty), ("logits_hist_data_bar_values", empty),
            ("decoder_weights_dist", empty),
        ])
    }

    /// `Activation`s: the top records, then each quantile bucket's with its bounds (`binMin`, `binMax`); ids are
    /// deterministic (`{model}/{source}/{index}/{kind}-{rank}`), `dataIndex` the excerpt id.
    static func activations(
        _ id: NeuronID, _ record: Evaluation.NeuronRecord, _ sourceID: String, _ options: Options
    ) -> [JSONValue] {
        let boundaries = record.quantileBoundaries.map(Double.init)
        func activation(_ r: Evaluation.ActivationRecord, _ name: String, bin: (Double?, Double?)) -> JSONValue {
            let maximum = r.activations.max() ?? 0
            return .object([
                ("id", .string("\(options.modelID)/\(sourceID)/\(id.neuron)/\(name)")),
                ("tokens", .array(r.tokens.map(JSONValue.string))), ("index", .string(String(id.neuron))),
                ("layer", .string(sourceID)), ("modelId", .string(options.modelID)), ("maxValue", .float(maximum)),
                ("maxValueTokenIndex", .int(r.activations.firstIndex(of: maximum) ?? 0)),
                ("minValue", .float(r.activations.min() ?? 0)), ("values", .array(r.activations.map(JSONValue.float))),
                ("creatorId", .string(options.creatorID)), ("dataSource", .null),
                ("dataIndex", .string(String(r.excerptID))), ("dfaValues", .array([])), ("dfaTargetIndex", .null),
                ("dfaMaxValue", .null), ("createdAt", .string(options.createdAt)), ("lossValues", .array([])),
                ("logitContributions", .null), ("binMin", .number(bin.0)), ("binMax", .number(bin.1)),
                ("binContains", .null), ("qualifyingTokenIndex", .null),
            ])
        }
        var out = record.mostPositive.enumerated().map { activation($0.element, "top-\($0.offset)", bin: (nil, nil)) }
        for (bucket, records) in record.randomByQuantile.enumerated() {
            let low = bucket == 0 ? nil : boundaries.indices.contains(bucket - 1) ? boundaries[bucket - 1] : nil
            let high = boundaries.indices.contains(bucket) ? boundaries[bucket] : nil
            out += records.enumerated().map {
                activation($0.element, "quantile\(bucket)-\($0.offset)", bin: (low, high))
            }
        }
        return out
    }

    /// `Explanation`s: one per explainer that explained the unit (failed, missing and dead rows have none), its
    /// scores in `notes`.
    static func explanations(_ id: NeuronID, _ run: RunContents?, _ sourceID: String, _ options: Options) -> [JSONValue]
    {
        guard let run else { return [] }
        let rows = run.scores.rows.filter { $0.neuron == id && $0.status == .ok && !$0.explanation.isEmpty }
        let explainers = run.scores.pairs.map(\.explainer).filter { $0 != Evaluator.noExplainer }
        var seen = Set<String>()
        return explainers.filter { seen.insert($0).inserted }.compactMap { explainer -> JSONValue? in
            let mine = rows.filter { $0.explainer == explainer }
            guard let text = mine.first?.explanation else { return nil }
            let scores = mine.compactMap { row -> String? in
                guard let metric = row.pair.kind?.headline, let value = row.defined(metric) else { return nil }
                return "\(row.scorer) \(metric) \(String(format: "%.4f", value))"
            }
            let model = explainer.hasPrefix("llm") ? run.manifest.llm?.model ?? explainer : "neuronbench \(explainer)"
            return .object([
                ("id", .string("\(options.modelID)/\(sourceID)/\(id.neuron)/\(explainer)")),
                ("modelId", .string(options.modelID)), ("layer", .string(sourceID)),
                ("index", .string(String(id.neuron))),
                ("description", .string(text)), ("authorId", .string(options.creatorID)), ("embedding", .null),
                ("triggeredById", .null), ("typeName", .string(explainer)), ("explanationModelName", .string(model)),
                (
                    "notes",
                    .string(
                        scores.isEmpty
                            ? "neuronbench: no defined score" : "neuronbench: " + scores.joined(separator: "; "))
                ),
                ("createdAt", .string(options.createdAt)),
            ])
        }
    }
}
