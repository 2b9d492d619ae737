import ActivationStore
import Evaluation
import Foundation

/// A self-contained HTML report of one evaluation run: score histograms and summaries per explainer × scorer,
/// a sortable and filterable table of neurons, and a section per neuron with its records as token heatmaps, real
/// next to simulated activations, and the examples detection, fuzzing and intruder judged with the answers. One file, no network: CSS, JavaScript and SVG are inline, and the
/// per-neuron data is a JSON block the page renders on demand (so thousands of neurons stay a few MB).
public struct HTMLReport {
    public struct Options: Sendable {
        /// How many of each kind of stored record a neuron section shows.
        public var topRecords = 10
        public var quantileRecordsPerBucket = 1
        public var randomRecords = 3
        public var bottomRecords = 2
        /// Neuron sections for at most this many neurons: all when the run has no more, otherwise the ones with
        /// the highest headline score (the table still lists every neuron).
        public var maxNeuronSections = 4096
        public init() {}
    }

    /// One explainer × scorer's result (its headline metric), for a terminal summary.
    public struct Headline: Sendable {
        public var pair: EvaluationPair
        public var isControl: Bool
        public var summary: ScoreSummary
        public var undefined: Int
        /// Failed or missing (not dead).
        public var failed: Int
        /// Never above 0 on the corpus: neither explained nor scored.
        public var dead: Int
    }

    public let html: String
    public let headlines: [Headline]
    public let neuronCount: Int
    public let sectionCount: Int
    /// The files the report was made from, which `write(to:)` never overwrites.
    let runDirectory: String
    let databasePath: String

    public init(runDirectory: String, databasePath: String? = nil, options: Options = Options()) throws {
        let run = try RunContents(directory: runDirectory)
        let path = databasePath ?? run.manifest.database
        let database = try ActivationDatabase.openForReading(path: path)
        if let expected = run.manifest.databaseFingerprint, try database.fingerprint() != expected {
            throw ReportError.databaseInconsistent(
                path: path,
                reason:
                    "this is not the database the run in \(runDirectory) was evaluated on (\(run.manifest.database)): its settings, model or corpus differ"
            )
        }
        try self.init(
            run: run, source: DatabaseReportSource(database: database, path: path), sourcePath: path, options: options)
    }

    /// A report of a run scored on records without a database (`evaluate --records-from`): `records` are those
    /// records (the caller reads them; OpenAI's come from Interop), `label` says what they are.
    public init(
        runDirectory: String, records: NeuronRecordSource, recordsPath: String, label: String,
        options: Options = Options()
    ) throws {
        let run = try RunContents(directory: runDirectory)
        try self.init(
            run: run, source: RecordSourceReport(source: records, label: label), sourcePath: recordsPath,
            options: options)
    }

    private init(run: RunContents, source: ReportSource, sourcePath: String, options: Options) throws {
        var page = PageBuilder(run: run, source: source, databasePath: sourcePath, options: options)
        html = try page.render()
        headlines = page.headlines
        neuronCount = page.neurons.count
        sectionCount = page.sectionCount
        self.runDirectory = run.directory
        self.databasePath = sourcePath
    }

    /// Writes the page atomically (a temporary file renamed into place). Refuses, before writing anything, an
    /// output that is one of the report's inputs (by real path) or the run's own files, or is an existing
    /// file that is not a neuronbench report: `--out` is easy to get wrong, and what it would replace may be days
    /// of work.
    public func write(to path: String) throws {
        try ReportOutput.check(path, runDirectory: runDirectory, databasePath: databasePath)
        // Our own temporary name beside the output (Foundation's `.atomic` picks a new one each time, which a killed
        // report leaves behind for good): a failure removes it, and a killed report's is cleared by the next one.
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        try? FileManager.default.removeItem(at: temporary)
        do {
            try Data(html.utf8).write(to: temporary)
            guard rename(temporary.path, path) == 0 else {
                throw ReportError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if let error = error as? ReportError { throw error }
            throw ReportError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }
}

/// Builds the page from a run and its records.
struct PageBuilder {
    let run: RunContents
    let source: ReportSource
    let databasePath: String
    let options: HTMLReport.Options
    let pairs: [EvaluationPair]
    /// Index in `pairs` of the headline: the first pair whose explainer is not a control.
    let headlinePair: Int
    let neurons: [NeuronID]
    /// neuron → pair index → score row.
    let rows: [NeuronID: [Int: RunScores.Row]]
    var headlines: [HTMLReport.Headline] = []
    /// The explainer × scorer pairs of detection, fuzzing and intruder, and their rows by neuron.
    let judgedPairs: [EvaluationPair]
    let judgedRows: [NeuronID: [Int: RunScores.Row]]
    var sectionCount = 0

    init(run: RunContents, source: ReportSource, databasePath: String, options: HTMLReport.Options) {
        self.run = run
        self.source = source
        self.databasePath = databasePath
        self.options = options
        // Simulation pairs (real beside simulated activations) and judged pairs (examples and answers) apart.
        pairs = run.scores.pairs.filter { $0.kind == .simulation }
        judgedPairs = run.scores.pairs.filter { $0.kind != .simulation }
        let pairIndex = Dictionary(uniqueKeysWithValues: pairs.enumerated().map { ($1, $0) })
        let judgedIndex = Dictionary(uniqueKeysWithValues: judgedPairs.enumerated().map { ($1, $0) })
        headlinePair = pairs.firstIndex { !$0.isControl } ?? 0
        var rows: [NeuronID: [Int: RunScores.Row]] = [:], judged: [NeuronID: [Int: RunScores.Row]] = [:]
        for row in run.scores.rows {
            if let index = pairIndex[row.pair] { rows[row.neuron, default: [:]][index] = row }
            if let index = judgedIndex[row.pair] { judged[row.neuron, default: [:]][index] = row }
        }
        self.rows = rows
        judgedRows = judged
        neurons = Set(rows.keys).union(judged.keys).sorted()
    }

    private func definedScore(_ row: RunScores.Row?) -> Double? { row?.definedCorrelation }

    /// The explainer whose explanations the table shows: the headline simulation pair's, else the first judged
    /// pair's that is not a control and has an explainer.
    var headlineExplainer: String {
        if !pairs.isEmpty { return pairs[headlinePair].explainer }
        return judgedPairs.first { !$0.isControl && $0.explainer != Evaluator.noExplainer }?.explainer ?? ""
    }

    /// Cards for detection, fuzzing and intruder: a histogram of each pair's headline metric over [0, 1], with
    /// chance marked in the hint.
    private mutating func judgedOverview() -> String {
        guard !judgedPairs.isEmpty else { return "" }
        var html =
            "<h3>Detection, fuzzing and intruder</h3><p class=\"hint\">Detection and fuzzing: balanced accuracy of the "
            + "judge's yes/no answers on held-out activating and non-activating examples (chance 0.5). Intruder (explainer "
            + "<code>-</code>, no explanation): the share of trials in which the judge named the intruder (chance 1/k). "
            + "Each neuron's section shows the examples and the answers.</p><div class=\"cards\">"
        for (index, pair) in judgedPairs.enumerated() {
            let group = neurons.compactMap { judgedRows[$0]?[index] }
            let scores = group.compactMap(\.definedHeadline)
            let summary = ScoreSummary(scores)
            let metric = pair.kind?.headline ?? "score"
            let undefined = group.filter { $0.status == .ok && $0.definedHeadline == nil }.count
            let failed = group.filter { $0.status == .failed || $0.status == .missing }.count
            let dead = group.filter { $0.status == .dead }.count
            headlines.append(
                .init(
                    pair: pair, isControl: pair.isControl, summary: summary, undefined: undefined, failed: failed,
                    dead: dead))
            html +=
                "<div class=\"card\(pair.isControl ? " control" : "")\"><h3>\(HTMLText.escaped(pair.description))\(pair.isControl ? " <span class=\"badge\">control</span>" : "")</h3>"
            html += Histogram(scores: scores, mean: summary.mean, control: pair.isControl, range: (0, 1)).svg
            html += "<table class=\"stats\"><tr><th>scored</th><td>\(summary.count) of \(group.count)</td></tr>"
            html +=
                "<tr><th>mean \(HTMLText.escaped(metric)) [95% CI]</th><td>\(HTMLText.score(summary.mean)) [\(HTMLText.score(summary.confidenceLow)), \(HTMLText.score(summary.confidenceHigh))]</td></tr>"
            html += "<tr><th>median</th><td>\(HTMLText.score(summary.median))</td></tr>"
            html += "<tr><th>≥ 0.8</th><td>\(percent(summary.fractionAtLeast08))</td></tr>"
            html +=
                "<tr><th>undefined / failed / dead</th><td>\(undefined) / \(failed) / \(dead)</td></tr></table></div>"
        }
        return html + "</div>"
    }

    mutating func render() throws -> String {
        var html = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        html += "<meta name=\"generator\" content=\"\(ReportOutput.generator)\">"
        html +=
            "<title>neuronbench report: \(HTMLText.escaped(run.directory))</title><style>\(ReportAssets.css)</style></head><body>"
        html += header()
        html += overview()
        html += table()
        html +=
            "<section id=\"neuron\"><h2>Neuron</h2><div id=\"neuron-view\"><p class=\"hint\">Choose a neuron in the table "
            + "(or open <code>report.html#neuron-LAYER-NEURON</code>).</p></div></section>"
        html += "<script type=\"application/json\" id=\"report-data\">" + (try neuronData()) + "</script>"
        html += "<script>\(ReportAssets.javascript)</script></body></html>\n"
        return html
    }

    private func header() -> String {
        let manifest = run.manifest
        let (model, units, corpus) = source.header()
        let items: [(String, String)] = [
            ("run", run.directory), ("database", databasePath), ("model", model), ("units", units), ("corpus", corpus),
            ("units scored", "\(neurons.count)"), ("explainers", manifest.explainers.joined(separator: ", ")),
            ("scorers", manifest.scorers.joined(separator: ", ")), ("calibration", manifest.calibration.rawValue),
            (
                "records",
                "explained on \(manifest.explainRecords), scored on \(manifest.scoreTopRecords) top + \(manifest.scoreRandomRecords) random"
            ),
            ("seed", "\(manifest.seed)"), ("tool", manifest.tool),
        ]
        return "<header><h1>neuronbench report</h1><dl class=\"meta\">"
            + items.map { "<dt>\($0.0)</dt><dd>\(HTMLText.escaped($0.1))</dd>" }.joined() + "</dl>"
            + "<nav><a href=\"#overview\">Overview</a> · <a href=\"#neurons\">Neurons</a> · <a href=\"#neuron\">Neuron</a></nav></header>"
    }

    private mutating func overview() -> String {
        var html =
            "<section id=\"overview\"><h2>Overview</h2><p class=\"hint\">Score: Pearson correlation of real and simulated "
            + "activations over each neuron's held-out top and random records (Schemas/scores.md). Controls (shuffled or constant "
            + "explanations) show what a score means when the explanation is unrelated to the neuron.</p><div class=\"cards\">"
        for (index, pair) in pairs.enumerated() {
            let group = neurons.compactMap { rows[$0]?[index] }
            let scores = group.compactMap(definedScore)
            let summary = ScoreSummary(scores)
            let control = pair.isControl
            let undefined = group.filter { $0.status == .ok && !$0.correlation.isFinite }.count
            let failed = group.filter { $0.status == .failed || $0.status == .missing }.count
            let dead = group.filter { $0.status == .dead }.count
            headlines.append(
                .init(
                    pair: pair, isControl: control, summary: summary, undefined: undefined, failed: failed, dead: dead))
            html +=
                "<div class=\"card\(control ? " control" : "")\"><h3>\(HTMLText.escaped(pair.description))\(control ? " <span class=\"badge\">control</span>" : "")</h3>"
            html += Histogram(scores: scores, mean: summary.mean, control: control).svg
            html += "<table class=\"stats\"><tr><th>scored</th><td>\(summary.count) of \(group.count)</td></tr>"
            html +=
                "<tr><th>mean [95% CI]</th><td>\(HTMLText.score(summary.mean)) [\(HTMLText.score(summary.confidenceLow)), \(HTMLText.score(summary.confidenceHigh))]</td></tr>"
            html += "<tr><th>median</th><td>\(HTMLText.score(summary.median))</td></tr>"
            html +=
                "<tr><th>≥ 0.5 / ≥ 0.8</th><td>\(percent(summary.fractionAtLeastHalf)) / \(percent(summary.fractionAtLeast08))</td></tr>"
            html +=
                "<tr><th>undefined / failed / dead</th><td>\(undefined) / \(failed) / \(dead)</td></tr></table></div>"
        }
        html += "</div>" + judgedOverview()
        let layers = Array(Set(neurons.map(\.layer))).sorted()
        html +=
            "<h3>Mean score per layer</h3><table class=\"layers\"><thead><tr><th>layer</th>"
            + pairs.map { "<th>\(HTMLText.escaped($0.description))</th>" }.joined() + "</tr></thead><tbody>"
        for layer in layers {
            html += "<tr><td>\(layer)</td>"
            for index in pairs.indices {
                let scores = neurons.filter { $0.layer == layer }.compactMap { definedScore(rows[$0]?[index]) }
                let mean = scores.isEmpty ? Double.nan : scores.reduce(0, +) / Double(scores.count)
                html += "<td class=\"num\">\(HTMLText.score(mean)) <span class=\"n\">(\(scores.count))</span></td>"
            }
            html += "</tr>"
        }
        return html + "</tbody></table></section>"
    }

    private func percent(_ x: Double) -> String { x.isFinite ? String(format: "%.1f%%", 100 * x) : "–" }

    private func table() -> String {
        let headlineExplainer = self.headlineExplainer
        var html =
            "<section id=\"neurons\"><h2>Neurons</h2><div class=\"filters\">"
            + "<input id=\"filter-text\" type=\"search\" placeholder=\"filter: words in the explanation, or 3:17\">"
            + "<select id=\"filter-layer\"><option value=\"\">all layers</option>"
            + Array(Set(neurons.map(\.layer))).sorted().map { "<option value=\"\($0)\">layer \($0)</option>" }.joined()
            + "</select>"
            + "<label>headline score ≥ <input id=\"filter-score\" type=\"number\" step=\"0.05\" min=\"-1\" max=\"1\"></label>"
            + "<span id=\"filter-count\"></span></div>"
            + "<p class=\"hint\">Click a column to sort, a row to open the neuron. Explanation: \(HTMLText.escaped(headlineExplainer)).</p>"
            + "<div class=\"table-wrap\"><table id=\"neuron-table\"><thead><tr><th data-type=\"num\">layer</th><th data-type=\"num\">neuron</th>"
            + "<th data-type=\"text\">explanation</th>"
            + (pairs + judgedPairs).map { "<th data-type=\"num\">\(HTMLText.escaped($0.description))</th>" }.joined()
            + "</tr></thead><tbody>"
        for id in neurons {
            let explanation = run.explanations[id]?[headlineExplainer]
            let text = explanation?.explanation ?? explanation?.error.map { "(failed: \($0))" } ?? ""
            html +=
                "<tr data-id=\"\(id)\" data-layer=\"\(id.layer)\"><td>\(id.layer)</td><td>\(id.neuron)</td><td>\(HTMLText.escaped(text))</td>"
            for index in pairs.indices {
                let score = definedScore(rows[id]?[index])
                html +=
                    "<td class=\"num\" data-v=\"\(score.map { String($0) } ?? "")\">\(score.map(HTMLText.score) ?? "–")</td>"
            }
            for index in judgedPairs.indices {
                let score = judgedRows[id]?[index]?.definedHeadline
                html +=
                    "<td class=\"num\" data-v=\"\(score.map { String($0) } ?? "")\">\(score.map(HTMLText.score) ?? "–")</td>"
            }
            html += "</tr>"
        }
        return html + "</tbody></table></div></section>"
    }

    /// The JSON block behind the neuron sections: pairs, excerpts (tokens stored once) and per-neuron data.
    private mutating func neuronData() throws -> String {
        var sectioned = neurons
        if sectioned.count > options.maxNeuronSections {
            sectioned = neurons.sorted {
                (definedScore(rows[$0]?[headlinePair]) ?? -2) > (definedScore(rows[$1]?[headlinePair]) ?? -2)
            }
            sectioned = Array(sectioned.prefix(options.maxNeuronSections)).sorted()
        }
        sectionCount = sectioned.count
        var excerptIDs = Set<Int>()
        var entries: [String] = []
        entries.reserveCapacity(sectioned.count)
        for id in sectioned {
            let (entry, used) = try neuronEntry(id)
            entries.append(entry)
            excerptIDs.formUnion(used)
        }
        var excerpts: [String] = []
        for excerptID in excerptIDs.sorted() {
            let excerpt = try source.excerpt(excerptID)
            let tokens = excerpt.tokens.map { HTMLText.jsonString($0) }
            excerpts.append(
                "\"\(excerptID)\":[\(HTMLText.jsonString(excerpt.document)),\(excerpt.startToken),[\(tokens.joined(separator: ","))]]"
            )
        }
        let pairList = pairs.map { "[\(HTMLText.jsonString($0.description)),\($0.isControl)]" }
        let judgedList = judgedPairs.map {
            "[\(HTMLText.jsonString($0.description)),\($0.isControl),\(HTMLText.jsonString($0.kind?.rawValue ?? "")),"
                + "\(HTMLText.jsonString($0.kind?.headline ?? ""))]"
        }
        return
            "{\"pairs\":[\(pairList.joined(separator: ","))],\"judged\":[\(judgedList.joined(separator: ","))],"
            + "\"headlineExplainer\":\(HTMLText.jsonString(headlineExplainer)),"
            + "\"headline\":\(headlinePair),\"neurons\":\(neurons.count),"
            + "\"excerpts\":{\(excerpts.joined(separator: ","))},\"sections\":{\(entries.joined(separator: ","))}}"
    }

    /// One neuron's section data and the excerpts it refers to. Each excerpt's true activations are stored once
    /// per neuron, packed relative to the neuron's largest |activation| (`scale`); simulations relative to
    /// their own largest |value| (`PackedValues`).
    private func neuronEntry(_ id: NeuronID) throws -> (String, Set<Int>) {
        let s = try source.unit(id)
        let scale = Swift.max(abs(Double(s.max)), abs(Double(s.min)), 1e-12)
        var activations: [Int: [Float]] = [:]
        func records(_ label: String, _ stored: [ReportUnit.Record]) -> [String] {
            stored.map { r in
                activations[r.excerptID] = r.activations
                return "[\(HTMLText.jsonString(label)),\(r.excerptID)]"
            }
        }
        var shown = records("top", Array(s.top.prefix(options.topRecords)))
        for bucket in 0..<s.quantileBoundaries.count {
            let low = HTMLText.number(Double(s.quantileBoundaries[bucket]))
            let high =
                bucket + 1 < s.quantileBoundaries.count
                ? HTMLText.number(Double(s.quantileBoundaries[bucket + 1])) : "max"
            shown += records(
                "quantile \(bucket + 1): max in [\(low), \(high))",
                Array(
                    (s.quantiles.indices.contains(bucket) ? s.quantiles[bucket] : []).prefix(
                        options.quantileRecordsPerBucket)))
        }
        shown += records("random", Array(s.random.prefix(options.randomRecords)))
        shown += records("bottom", Array(s.bottom.prefix(options.bottomRecords)))

        let explainerOrder = (pairs + judgedPairs).map(\.explainer)
        let explanations = (run.explanations[id] ?? [:]).values.sorted {
            (explainerOrder.firstIndex(of: $0.explainer) ?? .max, $0.explainer) < (
                explainerOrder.firstIndex(of: $1.explainer) ?? .max, $1.explainer
            )
        }.map { e in
            "[\(HTMLText.jsonString(e.explainer)),\(HTMLText.jsonString(e.explanation ?? "")),\(HTMLText.jsonString(e.error ?? "")),[\(e.explainExcerptIDs.map(String.init).joined(separator: ","))]]"
        }
        let scores = (rows[id] ?? [:]).sorted { $0.key < $1.key }.map { index, row in
            "[\(index),\(HTMLText.jsonString(row.status.rawValue)),\(HTMLText.number(row.correlation)),\(HTMLText.number(row.topCorrelation)),"
                + "\(HTMLText.number(row.randomCorrelation)),\(HTMLText.number(row.rSquared)),\(HTMLText.jsonString(row.notes))]"
        }
        let pairIndex = Dictionary(uniqueKeysWithValues: pairs.enumerated().map { ($1, $0) })
        let simulations = (run.simulations[id] ?? []).compactMap { row -> String? in
            guard let index = pairIndex[row.pair] else { return nil }
            let records = row.records.filter { $0.role != .calibration }
            let simulationScale = records.flatMap { $0.simulated.compactMap { $0 }.map { abs(Double($0)) } }.max() ?? 0
            let scored = records.map { r -> String in
                if activations[r.excerptID] == nil { activations[r.excerptID] = (r.actual ?? []).map { $0 ?? .nan } }
                return
                    "[\(HTMLText.jsonString(r.role.rawValue)),\(r.excerptID),\"\(PackedValues.encode(r.simulated.map { $0 ?? .nan }, scale: simulationScale))\"]"
            }
            return "[\(index),\(simulationScale),[\(scored.joined(separator: ","))]]"
        }
        // The judged examples of each detection, fuzzing and intruder pair (controls: the scores only, to keep the
        // page small), their excerpts' tokens in the shared excerpt table.
        var judgedExcerpts = Set<Int>()
        let judgements = Dictionary(
            (run.judgements[id] ?? []).map { ($0.pair, $0) }, uniquingKeysWith: { first, _ in first })
        let judged = (judgedRows[id] ?? [:]).sorted { $0.key < $1.key }.map { index, row -> String in
            let pair = judgedPairs[index]
            var examples: [String] = []
            if !pair.isControl, let rowJudgements = judgements[pair] {
                examples = rowJudgements.examples.map { x in
                    judgedExcerpts.insert(x.excerptID)
                    return
                        "[\(x.excerptID),\(HTMLText.jsonString(x.source)),\(x.label),\(x.answer),\(x.confidence.map { HTMLText.number($0) } ?? "null"),"
                        + "[\(x.highlighted.map(String.init).joined(separator: ","))],\(x.call)]"
                }
            }
            return
                "[\(index),\(HTMLText.jsonString(row.status.rawValue)),\(HTMLText.number(row.definedHeadline ?? .nan)),"
                + "\(HTMLText.jsonString(row.notes)),[\(examples.joined(separator: ","))]]"
        }
        let values = activations.sorted { $0.key < $1.key }.map { excerpt, values in
            "\"\(excerpt)\":\"\(PackedValues.encode(values, scale: scale))\""
        }
        let statistics = [Double(s.max), s.mean, s.variance.squareRoot(), s.fractionPositive].map(HTMLText.number)
            .joined(separator: ",")
        let entry =
            "\"\(id)\":{\"stats\":[\(statistics),\(s.tokenCount)],\"scale\":\(scale),\"explanations\":[\(explanations.joined(separator: ","))],"
            + "\"scores\":[\(scores.joined(separator: ","))],\"activations\":{\(values.joined(separator: ","))},"
            + "\"records\":[\(shown.joined(separator: ","))],\"simulations\":[\(simulations.joined(separator: ","))],"
            + "\"judged\":[\(judged.joined(separator: ","))]}"
        return (entry, Set(activations.keys).union(judgedExcerpts))
    }
}

/// An inline SVG histogram of scores in 20 bins over [-1, 1], with the mean marked.
struct Histogram {
    var scores: [Double]
    var mean: Double
    var control: Bool
    /// The scores' range: [-1, 1] for correlations, [0, 1] for accuracies.
    var range: (low: Double, high: Double) = (-1, 1)

    var svg: String {
        let bins = 20, width = 360.0, height = 150.0, left = 30.0, bottom = 20.0, top = 8.0
        let span = range.high - range.low
        /// Where `value` falls on [0, 1] of the axis.
        func position(_ value: Double) -> Double { (value - range.low) / span }
        var counts = [Int](repeating: 0, count: bins)
        for score in scores {
            counts[min(bins - 1, max(0, Int((position(score) * Double(bins)).rounded(.down))))] += 1
        }
        let tallest = Double(max(1, counts.max() ?? 1))
        let plotWidth = width - left - 8, plotHeight = height - bottom - top, barWidth = plotWidth / Double(bins)
        var svg =
            "<svg class=\"histogram\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"histogram of scores\">"
        svg +=
            "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - 8)\" y2=\"\(height - bottom)\" class=\"axis\"/>"
        for (bin, count) in counts.enumerated() where count > 0 {
            let h = Double(count) / tallest * plotHeight
            let low = range.low + span * Double(bin) / Double(bins), high = low + span / Double(bins)
            svg +=
                String(
                    format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" ",
                    left + Double(bin) * barWidth + 0.5, height - bottom - h, barWidth - 1, h)
                + "class=\"\(control ? "bar control" : "bar")\">"
                + String(format: "<title>%d neurons with score in [%.2f, %.2f)</title></rect>", count, low, high)
        }
        for step in 0...4 {
            let tick = range.low + span * Double(step) / 4
            svg +=
                String(
                    format: "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">", left + position(tick) * plotWidth, height - 5
                )
                + String(format: "%g", tick) + "</text>"
        }
        svg += "<text x=\"2\" y=\"\(top + 8)\" class=\"tick start\">\(Int(tallest))</text>"
        if mean.isFinite {
            let x = left + position(mean) * plotWidth
            svg += String(
                format:
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"mean\"><title>mean %.3f</title></line>",
                x, top, x, height - bottom, mean)
        }
        return svg + "</svg>"
    }
}
