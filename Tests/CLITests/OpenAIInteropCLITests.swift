import Foundation
import TestSupport
import XCTest

/// `export openai`, `--explainer openai:` and `evaluate --records-from` as a user runs them: every exported object
/// has exactly its OpenAI dataclass's fields with the right types and float16-exact activations (checked by
/// Scripts/check-openai-export.py against the database, read with sqlite3 + zlib + numpy); re-importing the
/// exported explanations and scoring them on the exported records gives the original run's scores back; bad files
/// fail their neuron with the path and the reason.
final class OpenAIInteropCLITests: XCTestCase {
    func testExportMatchesOpenAIsDataclassesAndRoundTripsTheScores() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let db = EvaluateCLITests.database
        let run = directory.appendingPathComponent("run").path
        let evaluate = try runCLI([
            "evaluate", "--db", db, "--explainer", "token-list", "--simulator", "keyword", "--scorer", "detection",
            "--out", run,
        ])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let export = directory.appendingPathComponent("openai").path
        let exported = try runCLI(["export", "openai", "--run", run, "--out", export])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        XCTAssertTrue(exported.stderr.contains("64 NeuronRecords"), exported.stderr)
        XCTAssertTrue(exported.stderr.contains("(simulation:keyword)"), exported.stderr)

        let check = try runPython([CLI.root.appendingPathComponent("Scripts/check-openai-export.py").path, export, db])
        XCTAssertEqual(check.status, 0, check.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as! [String: Int]
        XCTAssertEqual(summary["records"], 64)
        XCTAssertEqual(summary["sidecars"], 64)
        XCTAssertGreaterThan(summary["values_compared"]!, 10_000)
        XCTAssertGreaterThan(summary["explanation_files"]!, 50)
        XCTAssertEqual(summary["sequences"]!, summary["explanation_files"]! * 10, "5 top + 5 random per explanation")

        // Back in: the exported explanations, scored on the exported records, give the run's scores.
        let back = directory.appendingPathComponent("back").path
        let again = try runCLI([
            "evaluate", "--records-from", export, "--explainer", "openai:\(export)", "--simulator", "keyword",
            "--out", back,
        ])
        XCTAssertEqual(again.status, 0, again.stderr)
        func rows(_ run: String) throws -> [String: [String]] {
            let table = try parseCSV(String(contentsOfFile: run + "/scores.csv", encoding: .utf8))
            let header = table[0]
            let keep = [
                "status", "explanation", "correlation", "top_correlation", "random_correlation", "r_squared",
                "absolute_dev_explained", "score_top_records", "score_random_records", "scored_tokens",
            ].map { header.firstIndex(of: $0)! }
            let scorer = header.firstIndex(of: "scorer")!
            return Dictionary(
                uniqueKeysWithValues: table.dropFirst().filter { $0[scorer].hasPrefix("simulation") }.map { row in
                    ("\(row[0]):\(row[1])", keep.map { row[$0] })
                })
        }
        let original = try rows(run), returned = try rows(back)
        XCTAssertEqual(original.count, 64)
        let exportedNeurons = original.filter { $0.value[0] == "ok" }.keys
        for neuron in exportedNeurons {
            XCTAssertEqual(returned[neuron], original[neuron], neuron)
        }
        // A unit the run did not score has no explanation file: missing, never scored.
        for (neuron, row) in original where row[0] != "ok" {
            XCTAssertEqual(returned[neuron]?[0], row[0] == "dead" ? "dead" : "missing", neuron)
        }
        let manifest = try String(contentsOfFile: back + "/run.json", encoding: .utf8)
        XCTAssertTrue(manifest.contains("OpenAI NeuronRecords"), manifest)
        // The report of such a run reads the records from the tree named in run.json.
        let page = directory.appendingPathComponent("back.html").path
        let report = try runCLI(["report", back, "--out", page])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains("64 units, 64 with a section"), report.stdout)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        XCTAssertTrue(html.contains("OpenAI NeuronRecords ("), "the header says where the records came from")
        // The same excerpt tokens as the database's report of the original run.
        let originalPage = directory.appendingPathComponent("original.html").path
        XCTAssertEqual(try runCLI(["report", run, "--out", originalPage]).status, 0)
        func excerpts(_ page: String) throws -> [String: [Any]] {
            let text = try String(contentsOfFile: page, encoding: .utf8)
            let start = text.range(of: "<script type=\"application/json\" id=\"report-data\">")!.upperBound
            let end = text.range(of: "</script>", range: start..<text.endIndex)!.lowerBound
            let data = try JSONSerialization.jsonObject(with: Data(text[start..<end].utf8)) as! [String: Any]
            return data["excerpts"] as! [String: [Any]]
        }
        let fromRecords = try excerpts(page), fromDatabase = try excerpts(originalPage)
        XCTAssertGreaterThan(fromRecords.count, 100)
        // The sidecars carry the excerpt ids: every excerpt has the database's id and tokens (documents and
        // positions are unknown without a database).
        for (id, entry) in fromRecords {
            let known: [Any] = try XCTUnwrap(fromDatabase[id], "excerpt \(id)")
            let tokens = known[2] as! [String]
            XCTAssertEqual(entry[2] as! [String], tokens, "excerpt \(id)")
        }

        // Damaged files fail their own neuron, naming the file; the rest is scored.
        let truncated = export + "/explanations/1/3.jsonl"
        let text = try String(contentsOfFile: truncated, encoding: .utf8)
        try String(text.prefix(text.count / 2)).write(toFile: truncated, atomically: true, encoding: .utf8)
        let twoLines = export + "/explanations/1/4.jsonl"
        let line = try String(contentsOfFile: twoLines, encoding: .utf8)
        try (line + line).write(toFile: twoLines, atomically: true, encoding: .utf8)
        let damaged = try runCLI([
            "evaluate", "--records-from", export, "--explainer", "openai:\(export)#best", "--simulator", "keyword",
            "--neurons", "1:0-9", "--out", directory.appendingPathComponent("damaged").path,
        ])
        XCTAssertEqual(damaged.status, 0, damaged.stderr)
        let scores = try parseCSV(
            String(contentsOfFile: directory.appendingPathComponent("damaged/scores.csv").path, encoding: .utf8))
        let error = scores[0].firstIndex(of: "error")!, status = scores[0].firstIndex(of: "status")!
        let byNeuron = Dictionary(uniqueKeysWithValues: scores.dropFirst().map { ("\($0[0]):\($0[1])", $0) })
        XCTAssertEqual(byNeuron["1:3"]?[status], "failed")
        XCTAssertTrue(byNeuron["1:3"]?[error].contains("\(truncated): not valid JSON") ?? false, "\(byNeuron["1:3"]!)")
        XCTAssertEqual(byNeuron["1:4"]?[status], "failed")
        XCTAssertTrue(
            byNeuron["1:4"]?[error].contains("\(twoLines): expected exactly one line") ?? false, "\(byNeuron["1:4"]!)")
        XCTAssertEqual(byNeuron["1:5"]?[status], original["1:5"]?[0])

        // A run scored on another database is refused by fingerprint.
        let smaller = directory.appendingPathComponent("smaller.db").path
        let made = try runCLI([
            "precompute", "--model", "\(CLI.checkpoints)/f16-prefixed", "--tokenizer", CLI.tokenizer, "--corpus",
            CLI.root.appendingPathComponent("Corpora/test-corpus").path, "--out", smaller, "--max-tokens", "2000",
        ])
        XCTAssertEqual(made.status, 0, made.stderr)
        let other = try runCLI([
            "export", "openai", "--run", run, "--db", smaller, "--out", directory.appendingPathComponent("x").path,
        ])
        XCTAssertEqual(other.status, 1)
        XCTAssertEqual(other.stderr.split(separator: "\n").count, 1, other.stderr)
        XCTAssertTrue(other.stderr.contains("is not the database \(run) was scored on"), other.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("x").path))
    }

    /// `export neuronpedia`: one source per layer, each file kind with exactly the importer's fields and types
    /// (Scripts/check-neuronpedia-export.py), as many features, activations and explanations as the database and
    /// the run hold.
    func testNeuronpediaExportHasTheImportersFieldsPerFileKind() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let run = directory.appendingPathComponent("run").path
        let evaluate = try runCLI([
            "evaluate", "--db", EvaluateCLITests.database, "--explainer", "token-list", "--simulator", "keyword",
            "--scorer", "detection", "--out", run,
        ])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let out = directory.appendingPathComponent("np").path
        let refused = try runCLI([
            "export", "neuronpedia", "--run", run, "--model-id", "fixture", "--source-id", "mlp", "--out", out,
        ])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("put {layer} in --source-id"), refused.stderr)
        let exported = try runCLI([
            "export", "neuronpedia", "--run", run, "--model-id", "fixture", "--source-id", "{layer}-mlp-nb",
            "--batch-size", "10", "--out", out,
        ])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        let check = try runPython([
            CLI.root.appendingPathComponent("Scripts/check-neuronpedia-export.py").path, out, "10",
        ])
        XCTAssertEqual(check.status, 0, check.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as! [String: Int]
        XCTAssertEqual(summary["sources"], 2)
        XCTAssertEqual(summary["features"], 64)
        // 2 layers × 32 units in batches of 10: 4 feature batches per layer, and as many of activations.
        XCTAssertEqual(summary["files"]! >= 16, true, "\(summary)")
        let scores = try parseCSV(String(contentsOfFile: run + "/scores.csv", encoding: .utf8))
        let status = scores[0].firstIndex(of: "status")!
        let explained = Set(scores.dropFirst().filter { $0[status] == "ok" }.map { "\($0[0]):\($0[1])" })
        XCTAssertEqual(summary["explanations"], explained.count, "one explanation per explained unit")
        // Activations: every unit's top and quantile-bucket records (Python's reader counts them).
        var expected = 0
        for unit in ["0:0", "1:31"] {
            let read = try runPython([
                CLI.root.appendingPathComponent("Scripts/read-activations.py").path, EvaluateCLITests.database, unit,
            ])
            let object = try JSONSerialization.jsonObject(with: Data(read.stdout.utf8)) as! [String: Any]
            let records = object["records"] as! [String: Any]
            expected += (records["top"] as! [Any]).count + (records["quantiles"] as! [[Any]]).map(\.count).reduce(0, +)
        }
        let lines = try runPython([
            "-c",
            "import gzip, json, glob, sys; print(sum(1 for f in glob.glob(sys.argv[1] + '/fixture/*/activations/*.gz') for l in gzip.open(f) if json.loads(l)['index'] in ('0', '31') and json.loads(l)['layer'] == ('0-mlp-nb' if json.loads(l)['index'] == '0' else '1-mlp-nb')))",
            out,
        ])
        XCTAssertEqual(Int(lines.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), expected, lines.stderr)
    }
}
