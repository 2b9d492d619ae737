import ActivationStore
import Foundation
import Support

/// Writes an evaluation run directory (columns documented in Schemas/scores.md): scores.csv, summary.csv,
/// explanations.jsonl, simulations.jsonl.gz, judgements.jsonl.gz, run.json and (with LLM plug-ins) llm-usage.csv. `RunReader` reads it
/// back; no other code touches these files.
///
/// Nothing is lost, whatever happens: the run is built in a private directory beside its destination
/// (`.NAME.partial`) while a writer lock on the destination refuses any concurrent run by name, and it takes the
/// destination's place in one atomic swap only when complete. A run that fails, is killed or fills the disk
/// leaves the destination exactly as it was — an earlier complete run included.
public final class RunWriter {
    public let directory: URL
    /// Where the run is built until `finish` swaps it in.
    private let staging: URL
    private let lock: WriterLock
    private var scores: FileHandle
    private var explanations: FileHandle
    private var simulations: GzipWriter
    private var judgements: GzipWriter
    /// Every row without its records, for the summaries.
    private var rows: [NeuronEvaluation] = []

    public init(directory: URL) throws {
        let directory = directory.standardizedFileURL
        self.directory = directory
        try Self.checkReplaceable(directory)
        let parent = directory.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw EvaluationError.invalidRun(
                path: parent.path, reason: "cannot create the directory (\(error.localizedDescription))")
        }
        lock = try WriterLock(for: directory.path)
        staging = parent.appendingPathComponent(".\(directory.lastPathComponent).partial")
        // Holding the lock, any staging directory here is a dead writer's.
        try? FileManager.default.removeItem(at: staging)
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw EvaluationError.invalidRun(
                path: staging.path, reason: "cannot create the directory (\(error.localizedDescription))")
        }
        let staging = self.staging
        func open(_ file: RunFile) throws -> FileHandle {
            let url = staging.appendingPathComponent(file.rawValue)
            guard FileManager.default.createFile(atPath: url.path, contents: nil),
                let handle = FileHandle(forWritingAtPath: url.path)
            else {
                throw EvaluationError.invalidRun(path: url.path, reason: "cannot create the file")
            }
            return handle
        }
        scores = try open(.scores)
        explanations = try open(.explanations)
        func gzip(_ file: RunFile) throws -> GzipWriter {
            let path = staging.appendingPathComponent(file.rawValue).path
            do { return try GzipWriter(path: path) } catch let error as SupportError {
                throw EvaluationError.invalidRun(path: path, reason: error.reason)
            }
        }
        simulations = try gzip(.simulations)
        judgements = try gzip(.judgements)
        try write(CSV.row(ScoreColumn.allCases.map { .text($0.rawValue) }), to: scores, .scores)
    }

    /// The destination is swapped out whole, so it must be nothing, an empty directory, or an earlier run (whose
    /// other files, such as a report, are carried over): never a directory of someone's other work, and never the
    /// working directory.
    private static func checkReplaceable(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else { return }
        func refuse(_ reason: String) -> EvaluationError { .invalidRun(path: directory.path, reason: reason) }
        guard isDirectory.boolValue else { throw refuse("exists and is not a directory") }
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL
        guard directory.resolvingSymlinksInPath().path != here.resolvingSymlinksInPath().path else {
            throw refuse("is the working directory; write the run into a directory of its own")
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let runFiles = Set(RunFile.allCases.map(\.rawValue))
        guard entries.isEmpty || entries.contains(where: runFiles.contains) else {
            throw refuse(
                "exists and is not an evaluation run directory (no scores.csv or run.json among its \(entries.count) entries), so it is not replaced; choose another output directory"
            )
        }
    }

    /// Files in the earlier run that are not the run's own (a report, notes) move into the new one before the
    /// swap, so replacing a run never deletes them.
    private func carryOverForeignFiles() throws {
        let runFiles = Set(RunFile.allCases.map(\.rawValue))
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in entries where !runFiles.contains(name) {
            try FileManager.default.moveItem(
                at: directory.appendingPathComponent(name), to: staging.appendingPathComponent(name))
        }
    }

    deinit {
        // A run that never finished: its staging directory goes, the destination was never touched.
        if FileManager.default.fileExists(atPath: staging.path) { try? FileManager.default.removeItem(at: staging) }
    }

    /// A throwing write (Foundation's `write(_:)` traps on a full disk).
    private func write(_ text: String, to handle: FileHandle, _ file: RunFile) throws {
        do { try handle.write(contentsOf: Data(text.utf8)) } catch {
            throw EvaluationError.invalidRun(
                path: directory.appendingPathComponent(file.rawValue).path,
                reason: "write failed (\(Self.reason(error)))")
        }
    }

    /// The system's words for a failed write ("No space left on device").
    private static func reason(_ error: Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        if let code = underlying?.code, underlying?.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(code)))
        }
        return error.localizedDescription
    }

    /// Records one explainer's explanations (and which excerpts they were made from).
    public func explained(
        _ explainer: String, _ neurons: [NeuronID], _ results: [Result<String, EvaluationError>], _ excerpts: [[Int]]
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for ((id, result), shown) in zip(zip(neurons, results), excerpts) {
            let line = try encoder.encode(
                ExplanationLine(neuron: id, explainer: explainer, result: result, excerptIDs: shown))
            text += SecretRedaction.redact(String(decoding: line, as: UTF8.self)) + "\n"
        }
        try write(text, to: explanations, .explanations)
    }

    public func add(_ e: NeuronEvaluation) throws {
        var cells: [ScoreColumn: CSV.Cell] = [
            .layer: .integer(e.neuron.layer), .neuron: .integer(e.neuron.neuron), .explainer: .text(e.explainer),
            .scorer: .text(e.scorer), .simulator: .text(e.pair.simulator ?? ""), .status: .text(e.status.rawValue),
            .explanation: .text(SecretRedaction.redact(e.explanation ?? "")), .scoreNotes: .text(""),
            .explainRecords: .integer(e.explainRecords), .error: .text(SecretRedaction.redact(e.error ?? "")),
        ]
        // The metrics of the row's scorer kind: NaN when failed or undefined; other kinds' columns stay empty.
        let metricColumns = e.pair.kind?.metrics.compactMap { ScoreColumn(rawValue: $0) } ?? []
        for column in metricColumns { cells[column] = .number(.nan) }
        if let score = e.score {
            for metric in score.named { cells[ScoreColumn(rawValue: metric.name)!] = .number(metric.score.number) }
            cells[.scoreNotes] = .text(SecretRedaction.redact(score.notes))
        }
        if let s = e.simulation {
            cells[.calibration] = .text(s.calibration.rawValue)
            cells[.scoreTopRecords] = .integer(s.scoreTopRecords)
            cells[.scoreRandomRecords] = .integer(s.scoreRandomRecords)
            cells[.scoredTokens] = .integer(s.scoredTokens)
        }
        if let c = e.classification {
            cells[.activatingExamples] = .integer(c.metrics.positives)
            cells[.nonActivatingExamples] = .integer(c.metrics.negatives)
        }
        if case let .intruder(i)? = e.score { cells[.trials] = .integer(i.trials) }
        try write(CSV.row(ScoreColumn.allCases.map { cells[$0] ?? .text("") }), to: scores, .scores)
        func append(_ line: [UInt8], to file: GzipWriter) throws {
            do { try file.write(line) } catch let error as SupportError {
                throw EvaluationError.invalidRun(path: file.path, reason: error.reason)
            }
        }
        if let s = e.simulation, !s.records.isEmpty { try append(SimulationRow.line(for: e, s), to: simulations) }
        if let c = e.classification, !c.judgements.isEmpty { try append(try JudgementRow(e, c).line(), to: judgements) }
        if case let .intruder(i)? = e.score, !i.judgements.isEmpty {
            try append(try JudgementRow(e, i).line(), to: judgements)
        }
        var light = e
        switch e.score {
        case var .simulation(s)?:
            s.records = []
            light.score = .simulation(s)
        case var .classification(c)?:
            c.judgements = []
            light.score = .classification(c)
        case var .intruder(i)?:
            i.judgements = []
            light.score = .intruder(i)
        case nil: break
        }
        rows.append(light)
    }

    /// The rows of each explainer × scorer, in order of first appearance.
    private var groups: [[NeuronEvaluation]] {
        let order = rows.distinctPairs(\.pair)
        let grouped = Dictionary(grouping: rows, by: \.pair)
        return order.map { grouped[$0]! }
    }

    /// Per explainer × scorer × metric (the scorer's headline first), overall ("all") and per layer.
    public func summaryRows() -> [[CSV.Cell]] {
        var out: [[CSV.Cell]] = []
        for group in groups {
            let first = group[0]
            let layers = Array(Set(group.map(\.neuron.layer))).sorted()
            let metrics =
                first.pair.kind.map { kind in [kind.headline] + kind.metrics.filter { $0 != kind.headline } } ?? []
            for metric in metrics {
                for layer in [nil] + layers.map(Optional.some) {
                    let members = group.filter { layer == nil || $0.neuron.layer == layer }
                    let ok = members.filter { $0.status == .ok }
                    let defined = ok.compactMap { $0.score?.named.first { $0.name == metric }?.score.value }
                    let summary = ScoreSummary(defined)
                    let cells: [SummaryColumn: CSV.Cell] = [
                        .explainer: .text(first.explainer), .scorer: .text(first.scorer),
                        .simulator: .text(first.pair.simulator ?? ""),
                        .calibration: .text(first.simulation?.calibration.rawValue ?? ""), .metric: .text(metric),
                        .layer: .text(layer.map(String.init) ?? "all"), .neurons: .integer(members.count),
                        .scored: .integer(defined.count), .undefined: .integer(ok.count - defined.count),
                        .failed: .integer(members.filter { $0.status == .failed }.count),
                        .missing: .integer(members.filter { $0.status == .missing }.count),
                        .dead: .integer(members.filter { $0.status == .dead }.count),
                        .mean: .number(summary.mean), .median: .number(summary.median),
                        .std: .number(summary.standardDeviation), .ci95Low: .number(summary.confidenceLow),
                        .ci95High: .number(summary.confidenceHigh),
                        .fractionAtLeastHalf: .number(summary.fractionAtLeastHalf),
                        .fractionAtLeast08: .number(summary.fractionAtLeast08),
                    ]
                    out.append(SummaryColumn.allCases.map { cells[$0]! })
                }
            }
        }
        return out
    }

    /// llm-usage.csv: one row per neuron of the LLM plug-ins' calls and tokens (the caller's columns).
    public func writeLLMUsage(_ rows: [[CSV.Cell]]) throws {
        try writeWhole(rows.map(CSV.row).joined(), .llmUsage)
    }

    private func writeWhole(_ text: String, _ file: RunFile) throws {
        let url = staging.appendingPathComponent(file.rawValue)
        do { try Data(text.utf8).write(to: url) } catch {
            throw EvaluationError.invalidRun(
                path: directory.appendingPathComponent(file.rawValue).path,
                reason: "write failed (\(Self.reason(error)))")
        }
    }

    /// Writes summary.csv and run.json, then swaps the finished run into place. Each step is a commit
    /// (`KillSwitch`): 1 the streamed files closed, 2 summary.csv, 3 run.json, 4 the swap; only the last one changes
    /// what the destination holds.
    public func finish(manifest: RunManifest) throws {
        do {
            for handle in [scores, explanations] {
                try handle.synchronize()
                try handle.close()
            }
            try simulations.close()
            try judgements.close()
            KillSwitch.committed()
            let summary = ([SummaryColumn.allCases.map { CSV.Cell.text($0.rawValue) }] + summaryRows()).map(CSV.row)
                .joined()
            try writeWhole(summary, .summary)
            KillSwitch.committed()
            var manifest = manifest
            manifest.complete = true
            manifest.neuronsEvaluated = Set(rows.map(\.neuron)).count
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            try writeWhole(
                SecretRedaction.redact(String(decoding: try encoder.encode(manifest), as: UTF8.self)), .manifest)
            KillSwitch.committed()
            try carryOverForeignFiles()
            try DirectorySwap.replace(directory.path, with: staging.path)
            KillSwitch.committed()
            lock.release()
        } catch let error as SupportError {
            throw EvaluationError.invalidRun(path: directory.path, reason: error.reason)
        } catch let error as EvaluationError {
            throw error
        } catch {
            throw EvaluationError.invalidRun(
                path: directory.path, reason: "could not finish the run (\(Self.reason(error)))")
        }
    }

    /// The first failed or missing row, as "NEURON EXPLAINER × SIMULATOR: error", for a message.
    public var firstProblem: String? {
        rows.first { $0.status == .failed || $0.status == .missing }.map {
            "\($0.neuron) \($0.pair): \($0.error ?? $0.status.rawValue)"
        }
    }

    /// Per explainer × scorer: counts and the summary of the scorer's headline metric, for a terminal summary.
    public var statusCounts:
        [(pair: EvaluationPair, metric: String, ok: Int, failed: Int, missing: Int, dead: Int, summary: ScoreSummary)]
    {
        groups.map { group in
            let ok = group.filter { $0.status == .ok }
            return (
                group[0].pair, group[0].pair.kind?.headline ?? "score", ok.count,
                group.filter { $0.status == .failed }.count, group.filter { $0.status == .missing }.count,
                group.filter { $0.status == .dead }.count,
                ScoreSummary(ok.compactMap { $0.score?.headline.value })
            )
        }
    }
}
