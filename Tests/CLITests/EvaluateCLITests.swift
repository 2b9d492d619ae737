import Foundation
import TestSupport
import XCTest

/// `evaluate`, `puzzles` and `compare` run as a user runs them, on a database precomputed from the test corpus.
final class EvaluateCLITests: XCTestCase {
    /// One database for the whole class: the test corpus through the fixture model (2 layers × 32 neurons).
    static let database: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "nb-evaluate-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("test.db").path
        _ = try? runCLI([
            "precompute", "--model", "\(CLI.checkpoints)/f16-prefixed", "--tokenizer", CLI.tokenizer,
            "--corpus", CLI.root.appendingPathComponent("Corpora/test-corpus").path, "--out", path, "--pilot-excerpts",
            "60",
        ])
        return path
    }()

    func table(_ path: String) throws -> [[String]] {
        try parseCSV(String(contentsOfFile: path, encoding: .utf8))
    }

    func testEvaluateWritesDeterministicTables() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        func evaluate(_ name: String) throws -> CLIResult {
            try runCLI([
                "evaluate", "--db", Self.database, "--explainer", "token-list", "--explainer", "shuffled",
                "--explainer", "constant",
                "--simulator", "keyword", "--out", directory.appendingPathComponent(name).path,
            ])
        }
        let first = try evaluate("a"), second = try evaluate("b")
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(first.stderr.contains("token-list / simulation:keyword: "), first.stderr)
        for name in ["scores.csv", "summary.csv", "explanations.jsonl", "simulations.jsonl.gz", "judgements.jsonl.gz"] {
            let a = try Data(contentsOf: directory.appendingPathComponent("a/\(name)"))
            let b = try Data(contentsOf: directory.appendingPathComponent("b/\(name)"))
            XCTAssertEqual(a, b, "\(name) differs between two identical runs")
        }
        let scores = try table(directory.appendingPathComponent("a/scores.csv").path)
        XCTAssertEqual(scores.count, 1 + 64 * 3)
        let header = scores[0]
        let explainer = header.firstIndex(of: "explainer")!, status = header.firstIndex(of: "status")!,
            correlation = header.firstIndex(of: "correlation")!
        XCTAssertEqual(
            Set(scores.dropFirst().map { $0[explainer] }), ["token-list", "shuffled(token-list)", "constant"])
        XCTAssertTrue(scores.dropFirst().allSatisfy { $0[status] == "ok" })
        // The baseline beats its shuffled control on this corpus; undefined scores are NaN, never 0.
        func mean(_ name: String) -> Double {
            let values = scores.dropFirst().filter { $0[explainer] == name }.compactMap { Double($0[correlation]) }
                .filter { !$0.isNaN }
            return values.reduce(0, +) / Double(values.count)
        }
        XCTAssertGreaterThan(mean("token-list"), mean("shuffled(token-list)") + 0.05)
        XCTAssertFalse(scores.dropFirst().contains { $0[correlation] == "0" || $0[correlation].isEmpty })
        let summary = try table(directory.appendingPathComponent("a/summary.csv").path)
        let (layer, metric) = (summary[0].firstIndex(of: "layer")!, summary[0].firstIndex(of: "metric")!)
        XCTAssertEqual(summary.filter { $0[layer] == "all" && $0[metric] == "correlation" }.count, 3)
        let run =
            try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("a/run.json")))
            as! [String: Any]
        XCTAssertEqual(run["complete"] as? Bool, true)

        // Every headline score can be recomputed from simulations.jsonl.gz alone (numpy, as Schemas/scores.md shows).
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = [
            "python3", "-c",
            """
            import csv, gzip, json, sys, numpy as np
            run = sys.argv[1]
            mine = {}
            for line in gzip.open(run + "/simulations.jsonl.gz", "rt"):
                row = json.loads(line)
                scored = [r for r in row["records"] if r["role"] != "calibration"]
                a = np.concatenate([r["actual"] for r in scored]); s = np.concatenate([r["simulated"] for r in scored])
                if a.std() > 0 and s.std() > 0:
                    mine[(str(row["layer"]), str(row["neuron"]), row["explainer"])] = np.corrcoef(a, s)[0, 1]
            rows = [r for r in csv.DictReader(open(run + "/scores.csv", newline="")) if r["correlation"] != "NaN"]
            assert len(rows) == len(mine) > 100, (len(rows), len(mine))
            worst = max(abs(float(r["correlation"]) - mine[(r["layer"], r["neuron"], r["explainer"])]) for r in rows)
            assert worst < 1e-6, worst
            print("recomputed", len(rows))
            """, directory.appendingPathComponent("a").path,
        ]
        let output = Pipe()
        check.standardOutput = output
        try check.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        XCTAssertEqual(check.terminationStatus, 0)
        XCTAssertTrue(printed.hasPrefix("recomputed"), printed)
    }

    func testNeuronSelectionImportAndFailureExit() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let sample = try runCLI([
            "evaluate", "--db", Self.database, "--neurons", "1,random:5", "--explainer", "token-list",
            "--simulator", "keyword", "--out", directory.appendingPathComponent("sample").path,
        ])
        XCTAssertEqual(sample.status, 0, sample.stderr)
        let rows = try table(directory.appendingPathComponent("sample/scores.csv").path).dropFirst()
        XCTAssertEqual(rows.count, 5)
        XCTAssertTrue(rows.allSatisfy { $0[0] == "1" })

        let explanations = directory.appendingPathComponent("mine.csv").path
        try "layer,neuron,explanation\n0,0,\"the tokens \"\"the\"\" and \"\"of\"\"\"\n0,x,broken\n".write(
            toFile: explanations, atomically: true, encoding: .utf8)
        let imported = try runCLI([
            "evaluate", "--db", Self.database, "--neurons", "0:0-3", "--explainer", "file:\(explanations)",
            "--simulator", "keyword", "--out", directory.appendingPathComponent("imported").path,
        ])
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertTrue(
            imported.stderr.contains("mine.csv: line 3: layer and neuron must be non-negative integers (skipped)"),
            imported.stderr)
        XCTAssertTrue(imported.stderr.contains("1 scored"), imported.stderr)
        XCTAssertTrue(imported.stderr.contains("3 missing"), imported.stderr)

        let nothing = try runCLI([
            "evaluate", "--db", Self.database, "--neurons", "1:0-3", "--explainer", "file:\(explanations)",
            "--simulator", "keyword", "--out", directory.appendingPathComponent("nothing").path,
        ])
        XCTAssertEqual(nothing.status, 1, "a run in which nothing could be scored fails")
        XCTAssertTrue(nothing.stderr.contains("no unit could be scored"), nothing.stderr)

        let unknown = try runCLI([
            "evaluate", "--db", Self.database, "--explainer", "oracle", "--simulator", "keyword",
            "--out", directory.appendingPathComponent("x").path,
        ])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("unknown explainer \"oracle\""), unknown.stderr)
    }

    func testPuzzlesBaselineRecoversTokenRulesAndNotNoise() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let result = try runCLI([
            "puzzles", "--db", Self.database, "--explainer", "token-list", "--simulator", "keyword", "--out",
            directory.path,
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = try table(directory.appendingPathComponent("puzzles.csv").path)
        XCTAssertEqual(rows[0], ["puzzle", "rule", "explainer", "scorer", "status", "metric", "score", "explanation"])
        let correlation = Dictionary(uniqueKeysWithValues: rows.dropFirst().map { ($0[0], Double($0[6]) ?? .nan) })
        XCTAssertEqual(
            Set(correlation.keys), ["single-token", "token-set", "after-token", "numbers", "capitalised", "noise"])
        XCTAssertGreaterThanOrEqual(correlation["single-token"]!, 0.9)
        XCTAssertGreaterThanOrEqual(correlation["token-set"]!, 0.9)
        XCTAssertLessThan(abs(correlation["noise"]!), 0.1)
        XCTAssertTrue(result.stdout.contains("single-token"))
    }

    func testCompareTwoRuns() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        for (name, explainer) in [("baseline", "token-list"), ("control", "shuffled")] {
            let result = try runCLI([
                "evaluate", "--db", Self.database, "--explainer", explainer, "--simulator", "keyword",
                "--out", directory.appendingPathComponent(name).path,
            ])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let csv = directory.appendingPathComponent("compare.csv").path
        let result = try runCLI([
            "compare", directory.appendingPathComponent("baseline").path,
            directory.appendingPathComponent("control").path, "--out", csv,
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("neurons scored by both"), result.stdout)
        let rows = try table(csv)
        XCTAssertEqual(
            rows[0],
            [
                "a", "b", "metric", "neurons", "mean_a", "mean_b", "mean_difference", "ci95_low", "ci95_high", "a_wins",
                "b_wins",
                "ties", "a_win_rate",
            ])
        XCTAssertEqual(rows[1][2], "correlation")
        XCTAssertGreaterThan(Int(rows[1][3])!, 50)
        XCTAssertGreaterThan(Double(rows[1][6])!, 0)
        XCTAssertEqual(Double(rows[1][6])!, Double(rows[1][4])! - Double(rows[1][5])!, accuracy: 1e-9)
        let missing = try runCLI(["compare", directory.path, directory.appendingPathComponent("control").path])
        XCTAssertEqual(missing.status, 1)
        // Not a run directory: compare reads only finished runs, and says which file is missing.
        XCTAssertTrue(missing.stderr.contains("\(directory.path)/run.json: not found"), missing.stderr)
    }
}

/// A minimal RFC 4180 reader, independent of the Evaluation module's.
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
    var iterator = Array(text).makeIterator()
    var pending: Character?
    while let c = pending ?? iterator.next() {
        pending = nil
        if quoted {
            if c == "\"" {
                let next = iterator.next()
                if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
            } else {
                field.append(c)
            }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            row.append(field); field = ""
        } else if c == "\r\n" || c == "\n" {
            row.append(field); rows.append(row); row = []; field = ""
        } else {
            field.append(c)
        }
    }
    if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
    return rows
}
