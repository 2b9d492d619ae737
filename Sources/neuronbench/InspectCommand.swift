import ActivationStore
import ArgumentParser
import Foundation

/// `neuronbench inspect`: one unit's (neuron's or SAE latent's) statistics and records, read from a database.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a neuron's (or SAE latent's) statistics and records from an activation database.")

    @Option(help: "The activation database.")
    var db: String?
    @Argument(help: .hidden)
    var positionalDatabase: String?
    @Option(help: "The unit, as LAYER:INDEX (a neuron, or a latent of the layer's SAE).")
    var neuron: String
    @Flag(help: "Print every record as JSON.")
    var json = false
    @Option(help: "Without --json: records shown per kind.")
    var records = 5
    @Flag(help: "Read a database whose precompute has not finished.")
    var allowIncomplete = false

    /// Values are written as Double, which prints the stored float16 / float32 values exactly (as Python does).
    struct RecordJSON: Encodable {
        let excerpt_id: Int
        let max_activation: Double
        let min_activation: Double
        let tokens: [String]
        let ids: [Int]
        let activations: [Double]
    }

    struct StatsJSON: Encodable {
        let token_count, excerpt_count: Int
        let mean, variance: Double
        let skewness, kurtosis: Double?
        let min, max: Double
        let fraction_positive: Double
        let active_excerpt_count: Int?
        let quantile_population: String
        let histogram_edges: [Double]
        let histogram: [Int]
        let quantile_boundaries: [Double]
        let excerpts_below_boundaries: [Int]
    }

    struct RecordsJSON: Encodable {
        let top, random: [RecordJSON]; let quantiles: [[RecordJSON]]; let bottom: [RecordJSON]
    }
    /// `source` is `UnitSource.Kind`'s name ("neurons", "sae_latents"); `hook` is where the unit's values are read.
    struct OutputJSON: Encodable {
        let layer, neuron: Int; let source, hook: String; let stats: StatsJSON; let records: RecordsJSON
    }

    func validate() throws {
        guard NeuronID(neuron) != nil else { throw ValidationError("--neuron must look like 3:1024.") }
        guard records >= 0 else { throw ValidationError("--records cannot be negative.") }
        guard (db == nil) != (positionalDatabase == nil) else {
            throw ValidationError("Give the database once, as --db DB.")
        }
    }

    /// The database, from --db or the older positional form.
    var database: String { db ?? positionalDatabase ?? "" }

    func run() throws {
        try reportingErrors {
            let id = NeuronID(neuron)!
            let store = try ActivationDatabase.openForReading(path: database, allowIncomplete: allowIncomplete)
            if try store.journalMode() == "wal" { warn(walNote(database)) }
            let data = try store.neuron(id)
            let source = try store.source()
            let sae = source.sae(layer: id.layer)
            let vocabulary = try store.tokenStrings()
            func record(_ r: StoredRecord) throws -> RecordJSON {
                guard let excerpt = try store.excerpt(r.excerptID) else {
                    throw ActivationStoreError.corrupt(
                        path: database, reason: "record of neuron \(id) names missing excerpt \(r.excerptID)")
                }
                return RecordJSON(
                    excerpt_id: r.excerptID, max_activation: Double(r.maxActivation),
                    min_activation: Double(r.minActivation),
                    tokens: excerpt.tokenIDs.map { vocabulary[$0] },
                    ids: excerpt.tokenIDs, activations: r.activations.map(Double.init))
            }
            let s = data.statistics
            let output = OutputJSON(
                layer: id.layer, neuron: id.neuron, source: source.kind.rawValue,
                hook: sae?.hook ?? "blocks.\(id.layer).mlp.hook_post",
                stats: StatsJSON(
                    token_count: s.tokenCount, excerpt_count: s.excerptCount, mean: s.mean, variance: s.variance,
                    skewness: s.skewness.isFinite ? s.skewness : nil, kurtosis: s.kurtosis.isFinite ? s.kurtosis : nil,
                    min: Double(s.min), max: Double(s.max), fraction_positive: s.fractionPositive,
                    active_excerpt_count: s.activeExcerptCount, quantile_population: s.quantilePopulation.rawValue,
                    histogram_edges: s.histogramEdges.map(Double.init), histogram: s.histogram,
                    quantile_boundaries: s.quantileBoundaries.map(Double.init),
                    excerpts_below_boundaries: s.excerptsBelowBoundaries),
                records: RecordsJSON(
                    top: try data.records(.top).map(record), random: try data.records(.random).map(record),
                    quantiles: try (0..<QuantileBuckets.count).map {
                        try data.records(.quantile, bucket: $0).map(record)
                    },
                    bottom: try data.records(.bottom).map(record)))
            if json {
                try printJSON(output)
            } else {
                let reconstruction = try store.summary()?.reconstruction?.first { $0.layer == id.layer }
                printText(output, source: source, reconstruction: reconstruction)
            }
        }
    }

    private func printText(_ o: OutputJSON, source: UnitSource, reconstruction: ReconstructionTotals?) {
        let s = o.stats
        let colour = isatty(STDOUT_FILENO) == 1
        func f(_ x: Double?) -> String { x.map { String(format: "%.4g", $0) } ?? "n/a" }
        let sae = source.sae(layer: o.layer)
        print(
            "\(sae == nil ? "neuron" : "latent") \(o.layer):\(o.neuron) of \(sae?.description ?? o.hook)"
                + (source.prependBOS ? ", BOS prepended" : "")
                + "  tokens \(s.token_count)  excerpts \(s.excerpt_count)")
        if let reconstruction {
            print(
                "  the layer's SAE over this database's tokens: L0 \(String(format: "%.2f", reconstruction.l0)), variance explained \(String(format: "%.4f", reconstruction.varianceExplained))"
            )
        }
        print("  mean \(f(s.mean))  variance \(f(s.variance))  skewness \(f(s.skewness))  kurtosis \(f(s.kurtosis))")
        print(
            "  min \(f(s.min))  max \(f(s.max))  firing frequency (fraction of tokens > 0): \(f(s.fraction_positive))"
                + (s.active_excerpt_count.map { "  active excerpts: \($0)" } ?? ""))
        print(
            "  excerpt-max quantiles \(QuantileBuckets.upperEdges.map { "\($0)" }.joined(separator: "/")) of "
                + (s.quantile_population == "all" ? "all excerpts" : "activating excerpts (max > 0)") + ": "
                + s.quantile_boundaries.map { f($0) }.joined(separator: " / "))
        let scale = max(s.max, 1e-6)
        func show(_ title: String, _ records: [RecordJSON]) {
            guard !records.isEmpty else { return }
            print("\n\(title)")
            for r in records.prefix(self.records) {
                let text = zip(r.tokens, r.activations).map { token, value -> String in
                    let visible = TerminalText.escaped(token)
                    let strength = value / scale
                    guard strength >= 0.25 else { return visible }
                    if colour {
                        let background = strength >= 0.75 ? 196 : strength >= 0.5 ? 208 : 223
                        return "\u{1B}[48;5;\(background)m\u{1B}[30m\(visible)\u{1B}[0m"
                    }
                    return strength >= 0.5 ? "[[\(visible)]]" : visible
                }.joined()
                print("  #\(r.excerpt_id) max \(f(r.max_activation)): \(text)")
            }
        }
        show("top (by excerpt maximum)", o.records.top)
        for (bucket, name) in QuantileBuckets.names.enumerated() {
            show("quantile bucket \(name)", o.records.quantiles[bucket])
        }
        show("random", o.records.random)
        show("bottom (by excerpt minimum)", o.records.bottom)
        if !colour { print("\n[[token]]: activation at least half the neuron's maximum") }
    }
}
