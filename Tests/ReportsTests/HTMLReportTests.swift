import ActivationStore
import Evaluation
import Foundation
import TestSupport
import XCTest

@testable import Reports

/// Explains every neuron with markup-laden text, as an LLM or a hostile import could.
struct HostileExplainer: Explainer {
    static let text = "<script>alert('x')</script> & \"fires\" </SCRIPT><!-- <img src=x onerror=alert(1)>"
    var name: String { "hostile<b>" }
    func explain(_ requests: [ExplainRequest]) async -> [Result<String, EvaluationError>] {
        requests.map { _ in .success(Self.text) }
    }
}

final class HTMLReportTests: XCTestCase {
    /// Tokens a corpus can contain that are markup or break scripts.
    static let vocabulary = [
        "<script>", "</script>", "&amp;", " \"q\"", "<!--", "\u{2028}", " plain", "\n", " <img src=x onerror=alert(2)>",
        " ok",
    ]

    /// A complete database: 30 excerpts of 8 tokens; neuron (0, i) is 2 on token i and -k/16 (k = position % 3) elsewhere.
    func makeDatabase(_ directory: URL) throws -> String {
        let path = directory.appendingPathComponent("report-test.db").path
        let database = try ActivationDatabase.openForWriting(path: path)
        let excerpts = (0..<30).map { e in (0..<8).map { (e * 3 + $0 * 7) % Self.vocabulary.count } }
        try database.transaction {
            try database.writeVocabulary(Self.vocabulary.map { Array($0.utf8) })
            try database.insert(
                DocumentRow(
                    id: 0, source: "/corpus/<doc>.txt", line: nil, byteCount: 100, tokenCount: 240,
                    invalidUTF8Replaced: 0, nulRemoved: 0))
            for (id, tokens) in excerpts.enumerated() {
                try database.insert(ExcerptRow(id: id, documentID: 0, startToken: 8 * id, tokenIDs: tokens))
            }
            for neuron in 0..<3 {
                let values = excerpts.map { tokens in
                    tokens.enumerated().map { $1 == neuron ? Float(2) : -Float($0 % 3) / 16 }
                }
                var s = NeuronStatistics()
                s.tokenCount = 240; s.excerptCount = 30; s.max = 2; s.min = -0.125; s.sum = 60; s.sumSquares = 100
                s.positiveCount = 160; s.quantileBoundaries = [0.25, 1, 2, 2];
                s.excerptsBelowBoundaries = [10, 15, 20, 30]
                let order = values.indices.sorted { (values[$0].max()!, -$0) > (values[$1].max()!, -$1) }
                var records = order.prefix(24).enumerated().map { rank, e in
                    StoredRecord(
                        kind: .top, bucket: 0, rank: rank, excerptID: e, maxActivation: values[e].max()!,
                        minActivation: values[e].min()!, activations: values[e])
                }
                records += (0..<15).map { rank in
                    let e = (rank * 7 + neuron) % 30
                    return StoredRecord(
                        kind: .random, bucket: 0, rank: rank, excerptID: e, maxActivation: values[e].max()!,
                        minActivation: values[e].min()!, activations: values[e])
                }
                records.append(
                    StoredRecord(
                        kind: .bottom, bucket: 0, rank: 0, excerptID: order.last!,
                        maxActivation: values[order.last!].max()!,
                        minActivation: values[order.last!].min()!, activations: values[order.last!]))
                try database.write(NeuronData(id: NeuronID(layer: 0, neuron: neuron), statistics: s, records: records))
            }
            try database.markComplete()
        }
        return path
    }

    func makeRun(_ directory: URL, database: String) async throws -> URL {
        let run = directory.appendingPathComponent("run")
        let report = try RunWriter(directory: run)
        let reader = try NeuronRecordReader(path: database)
        try await Evaluator(source: reader, settings: EvaluationSettings()).run(
            neurons: try reader.neuronIDs(),
            explainers: [
                HostileExplainer(), TokenListExplainer(), ShuffledExplainer(base: TokenListExplainer(), seed: 0),
            ],
            simulators: [KeywordSimulator()], explained: report.explained
        ) { try report.add($0) }
        try report.finish(
            manifest: RunManifest(
                database: database, neurons: "all", explainers: ["hostile<b>", "token-list", "shuffled"],
                scorers: ["simulation:keyword"], settings: EvaluationSettings(), seed: 0, tool: "test"))
        return run
    }

    /// The JSON block the page's script reads.
    func embeddedData(_ html: String) throws -> [String: Any] {
        let open = #"<script type="application/json" id="report-data">"#
        let start = try XCTUnwrap(html.range(of: open)).upperBound
        let end = try XCTUnwrap(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(html[start..<end].utf8)) as? [String: Any])
    }

    func testUntrustedTextIsEscapedAndTheEmbeddedDataIsExact() async throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let databasePath = try makeDatabase(directory)
        let run = try await makeRun(directory, database: databasePath)
        let report = try HTMLReport(runDirectory: run.path)
        let html = report.html

        // Exactly the page's own two script elements; no markup from tokens, explanations, names or sources.
        XCTAssertEqual(html.lowercased().components(separatedBy: "<script").count - 1, 2)
        XCTAssertEqual(html.lowercased().components(separatedBy: "</script").count - 1, 2)
        XCTAssertFalse(html.contains("<!--"))
        XCTAssertFalse(html.contains("<img"))
        XCTAssertFalse(html.contains("<b>"))
        XCTAssertTrue(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;fires&quot;"),
            "the table shows the escaped explanation")
        XCTAssertTrue(html.contains("hostile&lt;b&gt; / simulation:keyword"))

        // The data block decodes to exactly the database's tokens and the run's explanations.
        let data = try embeddedData(html)
        let excerpts = try XCTUnwrap(data["excerpts"] as? [String: [Any]])
        let database = try ActivationDatabase.openForReading(path: databasePath)
        XCTAssertFalse(excerpts.isEmpty)
        for (id, excerpt) in excerpts {
            let tokenIDs = try XCTUnwrap(try database.excerpt(Int(id)!)).tokenIDs
            XCTAssertEqual(excerpt[2] as? [String], tokenIDs.map { Self.vocabulary[$0] }, "excerpt \(id)")
            XCTAssertEqual(excerpt[0] as? String, "<doc>.txt")
        }
        let sections = try XCTUnwrap(data["sections"] as? [String: [String: Any]])
        XCTAssertEqual(Set(sections.keys), ["0:0", "0:1", "0:2"])
        for (key, section) in sections {
            let neuron = try database.neuron(try XCTUnwrap(NeuronID(key)))
            let explanations = try XCTUnwrap(section["explanations"] as? [[Any]])
            XCTAssertTrue(
                explanations.contains { $0[0] as? String == "hostile<b>" && $0[1] as? String == HostileExplainer.text })
            // Every embedded activation is within half a level of the stored value.
            let scale = try XCTUnwrap(section["scale"] as? Double)
            XCTAssertEqual(scale, 2)
            let activations = try XCTUnwrap(section["activations"] as? [String: String])
            XCTAssertGreaterThanOrEqual(activations.count, 10)
            for (excerpt, packed) in activations {
                let stored = try XCTUnwrap(neuron.records.first { $0.excerptID == Int(excerpt)! }).activations
                let decoded = PackedValues.decode(packed, scale: scale)
                XCTAssertEqual(decoded.count, stored.count)
                for (d, s) in zip(decoded, stored) {
                    XCTAssertEqual(try XCTUnwrap(d), Double(s), accuracy: scale / 2047 / 2 + 1e-9)
                }
            }
            // The top records shown are the stored top records, in rank order.
            let records = try XCTUnwrap(section["records"] as? [[Any]])
            XCTAssertEqual(
                records.filter { $0[0] as? String == "top" }.map { $0[1] as? Int },
                neuron.records(.top).prefix(10).map(\.excerptID))
            XCTAssertEqual((section["simulations"] as? [Any])?.count, 3, "one simulation per explainer × simulator")
        }
    }

    func testOverviewAgreesWithTheRunsSummaryAndHistogramCountsEveryScore() async throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let run = try await makeRun(directory, database: try makeDatabase(directory))
        let report = try HTMLReport(runDirectory: run.path)
        let summary = try CSV.parse(String(contentsOf: run.appendingPathComponent("summary.csv"), encoding: .utf8))
        let header = summary[0].fields
        func column(_ name: String) -> Int { header.firstIndex(of: name)! }
        XCTAssertEqual(
            report.headlines.map(\.pair.description),
            [
                "hostile<b> / simulation:keyword", "token-list / simulation:keyword",
                "shuffled(token-list) / simulation:keyword",
            ])
        XCTAssertEqual(report.headlines.map(\.isControl), [false, false, true])
        for headline in report.headlines {
            let row = try XCTUnwrap(
                summary.first {
                    "\($0.fields[column("explainer")]) / \($0.fields[column("scorer")])" == headline.pair.description
                        && $0.fields[column("layer")] == "all" && $0.fields[column("metric")] == "correlation"
                })
            XCTAssertEqual(headline.summary.count, Int(row.fields[column("scored")]))
            for (value, name) in [
                (headline.summary.mean, "mean"), (headline.summary.median, "median"),
                (headline.summary.confidenceLow, "ci95_low"),
            ] {
                let expected = Double(row.fields[column(name)])!
                if expected.isNaN {
                    XCTAssertTrue(value.isNaN)
                } else {
                    XCTAssertEqual(value, expected, accuracy: 1e-12, name)
                }
            }
        }
        // The token-list baseline finds each neuron's token (the small negative background is not simulated).
        XCTAssertGreaterThan(report.headlines[1].summary.mean, 0.99)
        // Histogram bars: the counts in their titles add up to the scored neurons of each pair.
        let titles = report.html.components(separatedBy: "<title>").dropFirst().compactMap {
            $0.components(separatedBy: " neurons with score").first.flatMap { Int($0) }
        }
        XCTAssertEqual(titles.reduce(0, +), report.headlines.map(\.summary.count).reduce(0, +))
    }

    /// A database recorded with bf16 projections or on oneMKL says so in the header; an fp32 one on OpenBLAS (neither
    /// "precision" nor "blas" stored) does not.
    func testHeaderNamesAReducedPrecisionDatabase() async throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let path = try makeDatabase(directory)
        let run = try await makeRun(directory, database: path)
        XCTAssertFalse(try HTMLReport(runDirectory: run.path).html.contains("matrix multiplies"))
        XCTAssertFalse(try HTMLReport(runDirectory: run.path).html.contains("float32 products on"))
        let database = try ActivationDatabase.openForWriting(path: path)
        var settings = PrecomputeSettings()
        settings.precisionName = "bf16"
        settings.blasName = "mkl"
        try database.transaction {
            try database.setIdentity(
                ActivationDatabase.Identity(settings: settings, modelSHA256: [:], tokenizerSHA256: [:]))
        }
        XCTAssertTrue(
            try HTMLReport(runDirectory: run.path).html.contains("activations recorded with bf16 matrix multiplies"))
        XCTAssertTrue(try HTMLReport(runDirectory: run.path).html.contains("float32 products on mkl"))
    }

    /// The header names the corpus with its size, read from the database's corpus manifest.
    func testHeaderShowsTheCorpusTokenCount() async throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let path = try makeDatabase(directory)
        let run = try await makeRun(directory, database: path)
        let database = try ActivationDatabase.openForWriting(path: path)
        try database.transaction {
            try database.setCorpus(
                CorpusManifest(
                    path: "/corpus", format: "txt-directory", files: 1, sha256: "00", documents: 1,
                    excerpts: 30, tokensInExcerpts: 240, tokensDropped: 0, issues: CorpusIssues(),
                    stoppedAtMaxTokens: nil))
        }
        let html = try HTMLReport(runDirectory: run.path).html
        XCTAssertTrue(
            html.contains("<dt>corpus</dt><dd>path /corpus, documents 1, tokens 240 in 30 excerpts</dd>"),
            "no corpus size in the header")
    }

    func testPackedValuesRoundTripWithinHalfALevel() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let scale = Double.random(in: 0.01...100, using: &generator)
            let values =
                (0..<64).map { _ in Float.random(in: -Float(scale)...Float(scale), using: &generator) } + [.nan]
            let decoded = PackedValues.decode(PackedValues.encode(values, scale: scale), scale: scale)
            XCTAssertNil(decoded.last!)
            for (d, v) in zip(decoded, values.dropLast()) {
                XCTAssertEqual(d!, Double(v), accuracy: scale / 2047 / 2 * 1.0001)
            }
        }
        XCTAssertEqual(
            PackedValues.decode(PackedValues.encode([5, -5], scale: 1), scale: 1), [1, -1], "out of range values clamp")
        XCTAssertEqual(HTMLText.jsonString("</script>\u{2028}\"\\"), #""\u003c/script\u003e\u2028\"\\""#)
        XCTAssertEqual([0.0, -0.0421, 3.5, 1e-5, 12.0].map(HTMLText.number), ["0", "-0.042", "3.5", "0", "12"])
    }

    func testBadRunsAreReportedWithTheirPath() async throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let databasePath = try makeDatabase(directory)
        XCTAssertThrowsMessage(
            try HTMLReport(runDirectory: directory.path),
            contains: [directory.appendingPathComponent("run.json").path, "not found"])

        let run = try await makeRun(directory, database: databasePath)
        XCTAssertThrowsMessage(
            try HTMLReport(runDirectory: run.path, databasePath: directory.appendingPathComponent("absent.db").path),
            contains: ["absent.db", "not found"])
        let simulations = run.appendingPathComponent("simulations.jsonl.gz")
        let bytes = try Data(contentsOf: simulations)
        try bytes.prefix(bytes.count / 2).write(to: simulations)
        XCTAssertThrowsMessage(try HTMLReport(runDirectory: run.path), contains: [simulations.path, "truncated"])

        let runJSON = run.appendingPathComponent("run.json")
        try Data(#"{"complete": false}"#.utf8).write(to: runJSON)
        XCTAssertThrowsMessage(try HTMLReport(runDirectory: run.path), contains: [runJSON.path, "did not finish"])
    }

    /// A run scored by detection, fuzzing and intruder (keyword judge) over the report database.
    func makeJudgedRun(_ directory: URL, database: String, simulation: Bool) async throws -> URL {
        let run = directory.appendingPathComponent(simulation ? "judged" : "judged-only")
        let writer = try RunWriter(directory: run)
        let reader = try NeuronRecordReader(path: database)
        var settings = EvaluationSettings()
        settings.examples.activating = 6
        settings.examples.nonActivating = 6
        settings.examples.minimum = 2
        settings.examples.intruderTrials = 3
        let registry = PluginRegistry.standard
        let names = (simulation ? ["simulation:keyword"] : []) + ["detection", "fuzzing", "intruder"]
        let scorers = try names.map { try registry.scorer($0, settings: settings, seed: 0) }
        try await Evaluator(source: reader, settings: settings).run(
            neurons: try reader.neuronIDs(),
            explainers: [HostileExplainer(), ShuffledExplainer(base: TokenListExplainer(), seed: 0)],
            scorers: scorers, explained: writer.explained
        ) { try writer.add($0) }
        try writer.finish(
            manifest: RunManifest(
                database: database, neurons: "all", explainers: ["hostile<b>", "shuffled"],
                scorers: scorers.map(\.name), settings: settings, seed: 0, tool: "test"))
        return run
    }

    func testJudgedExamplesAreShownWithTheirAnswersAndEscaped() async throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let databasePath = try makeDatabase(directory)
        for simulation in [true, false] {
            let run = try await makeJudgedRun(directory, database: databasePath, simulation: simulation)
            let report = try HTMLReport(runDirectory: run.path)
            let html = report.html
            XCTAssertTrue(html.contains("Detection, fuzzing and intruder"))
            XCTAssertTrue(html.contains("hostile&lt;b&gt; / detection:keyword"))
            XCTAssertFalse(html.contains("<b>"))
            XCTAssertEqual(report.neuronCount, 3, "a run without simulation lists its neurons too")
            let data = try embeddedData(html)
            let judged = try XCTUnwrap(data["judged"] as? [[Any]])
            XCTAssertEqual(
                judged.map { $0[0] as! String },
                [
                    "hostile<b> / detection:keyword", "hostile<b> / fuzzing:keyword",
                    "shuffled(token-list) / detection:keyword", "shuffled(token-list) / fuzzing:keyword",
                    "- / intruder:keyword",
                ])
            XCTAssertEqual(data["headlineExplainer"] as? String, "hostile<b>")
            // Every non-control pair's examples are the run's judgements, their excerpts' tokens in the page.
            let sections = try XCTUnwrap(data["sections"] as? [String: [String: Any]])
            let excerpts = try XCTUnwrap(data["excerpts"] as? [String: [Any]])
            let contents = try RunContents(directory: run.path)
            var shown = 0
            for (id, section) in sections {
                let neuron = try XCTUnwrap(NeuronID(id))
                for entry in try XCTUnwrap(section["judged"] as? [[Any]]) {
                    let pair = judged[entry[0] as! Int]
                    let examples = entry[4] as! [[Any]]
                    guard !(pair[1] as! Bool) else {
                        XCTAssertTrue(examples.isEmpty, "controls' examples are left out")
                        continue
                    }
                    let row = try XCTUnwrap(
                        contents.judgements[neuron]?.first { $0.pair.description == pair[0] as! String })
                    XCTAssertEqual(examples.map { $0[0] as! Int }, row.examples.map(\.excerptID))
                    XCTAssertEqual(examples.map { $0[3] as! Int }, row.examples.map(\.answer))
                    XCTAssertEqual(examples.map { $0[5] as! [Int] }, row.examples.map(\.highlighted))
                    for example in examples { XCTAssertNotNil(excerpts[String(example[0] as! Int)]) }
                    shown += examples.count
                }
            }
            XCTAssertGreaterThan(shown, 30)
        }
    }
}
