import Foundation

/// Several runs' headline results side by side: per explainer × scorer, each run's scored units, mean with its
/// bootstrap 95% interval and the share at or above the scorer's threshold. Unpaired, so the runs may score
/// different units (a model's neurons and an SAE's latents, two models); with two runs it adds the difference of
/// the means with an unpaired bootstrap interval. `PairedComparison` is the comparison for runs over the same units.
public struct SideBySide: Sendable {
    /// One run's result for one explainer × scorer.
    public struct Cell: Sendable, Equatable {
        /// Rows of the pair (every unit the run selected).
        public var units: Int
        public var dead: Int
        /// Failed or missing rows.
        public var failed: Int
        /// The headline over the rows where it is defined.
        public var summary: ScoreSummary
        public var share: Double
    }

    public struct Row: Sendable {
        public var pair: EvaluationPair
        public var metric: String
        public var threshold: Double
        /// One per run, nil where the run has no such pair.
        public var cells: [Cell?]
        /// Two runs only: mean(second) − mean(first) and its 95% interval.
        public var difference: (mean: Double, low: Double, high: Double)?
    }

    public let labels: [String]
    public let rows: [Row]

    /// `runs` with a label each; explainer × scorer pairs in order of first appearance over the runs.
    public init(_ runs: [(label: String, scores: RunScores)], seed: UInt64 = 0) {
        labels = runs.map(\.label)
        var pairs: [EvaluationPair] = []
        for run in runs {
            for pair in run.scores.pairs where !pairs.contains(pair) { pairs.append(pair) }
        }
        rows = pairs.compactMap { pair in
            guard let kind = pair.kind else { return nil }
            let metric = kind.headline, threshold = kind.shareThreshold
            let values = runs.map { run -> (Cell, [Double])? in
                let members = run.scores.rows.filter { $0.pair == pair }
                guard !members.isEmpty else { return nil }
                let defined = members.compactMap { $0.defined(metric) }
                let summary = ScoreSummary(defined, seed: seed)
                let cell = Cell(
                    units: members.count, dead: members.filter { $0.status == .dead }.count,
                    failed: members.filter { $0.status == .failed || $0.status == .missing }.count, summary: summary,
                    share: summary.fraction(atLeast: threshold))
                return (cell, defined)
            }
            var difference: (Double, Double, Double)?
            if values.count == 2, let a = values[0], let b = values[1], !a.1.isEmpty, !b.1.isEmpty {
                let (low, high) = ScoreSummary.differenceInterval(a.1, b.1, seed: seed)
                difference = (b.0.summary.mean - a.0.summary.mean, low, high)
            }
            return Row(
                pair: pair, metric: metric, threshold: threshold, cells: values.map { $0?.0 }, difference: difference)
        }
    }

    /// A fixed-width text table, one line per explainer × scorer (controls marked).
    public var text: String {
        let pairWidth = max(20, rows.map { $0.pair.description.count + ($0.pair.isControl ? 10 : 0) }.max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        let cellWidth = 43
        var header = pad("explainer / scorer", pairWidth) + "  " + pad("metric", 17)
        for label in labels { header += "  " + pad(label, cellWidth) }
        if labels.count == 2 { header += "  \(labels[1]) − \(labels[0])" }
        var sub = pad("", pairWidth) + "  " + pad("", 17)
        for _ in labels { sub += "  " + pad("scored    mean [95% CI]           share", cellWidth) }
        var lines = [header, sub]
        for row in rows {
            var line =
                pad(row.pair.description + (row.pair.isControl ? " (control)" : ""), pairWidth) + "  "
                + pad(row.metric, 17)
            for cell in row.cells {
                guard let cell else {
                    line += "  " + pad("-", cellWidth)
                    continue
                }
                let s = cell.summary
                line +=
                    "  "
                    + pad(
                        String(
                            format: "%6d  %6.3f [%6.3f, %6.3f]  %5.1f%%", s.count, s.mean, s.confidenceLow,
                            s.confidenceHigh, 100 * cell.share), cellWidth)
            }
            if let d = row.difference {
                line += String(format: "  %+6.3f [%+6.3f, %+6.3f]", d.mean, d.low, d.high)
            }
            lines.append(line)
        }
        lines.append(
            "share: of scored units, correlation ≥ 0.5, accuracy ≥ 0.8; scored excludes undefined, failed and dead units"
                + (labels.count == 2 ? "; the difference's interval is an unpaired bootstrap (2,000 resamples)" : ""))
        return lines.joined(separator: "\n") + "\n"
    }

    public static let columns = [
        "run", "explainer", "scorer", "metric", "units", "scored", "dead", "failed", "mean", "ci95_low", "ci95_high",
        "share", "share_threshold",
    ]

    /// One CSV row per run × explainer × scorer (columns: `columns`).
    public var cells: [[CSV.Cell]] {
        rows.flatMap { row in
            zip(labels, row.cells).compactMap { label, cell -> [CSV.Cell]? in
                guard let cell else { return nil }
                return [
                    .text(label), .text(row.pair.explainer), .text(row.pair.scorer), .text(row.metric),
                    .integer(cell.units), .integer(cell.summary.count), .integer(cell.dead), .integer(cell.failed),
                    .number(cell.summary.mean), .number(cell.summary.confidenceLow),
                    .number(cell.summary.confidenceHigh), .number(cell.share), .number(row.threshold),
                ]
            }
        }
    }
}
