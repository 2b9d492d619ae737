import Foundation
import TestSupport
import XCTest

/// Detection and fuzzing as a user runs them: `evaluate --scorer`, the shuffled control at chance, examples
/// never taken from the explainer's records, metrics recomputed from judgements.jsonl.gz, puzzles, compare.
final class ScorerCLITests: XCTestCase {
    func table(_ path: String) throws -> [[String: String]] {
        let rows = parseCSV(try String(contentsOfFile: path, encoding: .utf8))
        return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(rows[0], $0)) }
    }

    /// The fixture model has random weights, so its neurons are dense: at the default threshold (20% of the
    /// maximum) almost no test-corpus excerpt is non-activating and every neuron would be undefined. At 70% most
    /// neurons have both kinds.
    func testDetectionAndFuzzingScoreTheBaselineAboveItsControlWhichSitsAtChance() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        func evaluate(_ name: String) throws -> CLIResult {
            try runCLI([
                "evaluate", "--db", EvaluateCLITests.database, "--explainer", "token-list", "--explainer", "shuffled",
                "--scorer", "detection", "--scorer", "fuzzing:keyword", "--simulator", "keyword",
                "--activation-threshold", "0.7", "--out", directory.appendingPathComponent(name).path,
            ])
        }
        let run = try evaluate("a")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("token-list / detection:keyword: "), run.stderr)
        XCTAssertTrue(run.stderr.contains("mean balanced_accuracy"), run.stderr)
        let again = try evaluate("b")
        XCTAssertEqual(again.status, 0, again.stderr)
        for name in ["scores.csv", "summary.csv", "judgements.jsonl.gz"] {
            XCTAssertEqual(
                try Data(contentsOf: directory.appendingPathComponent("a/\(name)")),
                try Data(contentsOf: directory.appendingPathComponent("b/\(name)")), "\(name): same seed, same bytes")
        }
        let rows = try table(directory.appendingPathComponent("a/scores.csv").path)
        XCTAssertEqual(rows.count, 64 * 2 * 3)
        XCTAssertEqual(
            Set(rows.map { $0["scorer"]! }), ["simulation:keyword", "detection:keyword", "fuzzing:keyword"])
        for row in rows where row["scorer"] != "simulation:keyword" {
            XCTAssertEqual(row["correlation"], "", "a column that does not apply is empty")
            XCTAssertEqual(row["simulator"], "")
        }
        for row in rows where row["scorer"] == "simulation:keyword" { XCTAssertEqual(row["f1"], "") }
        func mean(_ explainer: String, _ scorer: String) -> (Double, Int) {
            let values = rows.filter { $0["explainer"] == explainer && $0["scorer"] == scorer }
                .compactMap { Double($0["balanced_accuracy"]!) }.filter(\.isFinite)
            return (values.reduce(0, +) / Double(values.count), values.count)
        }
        for (scorer, margin) in [("detection:keyword", 0.0), ("fuzzing:keyword", 0.05)] {
            let (control, count) = mean("shuffled(token-list)", scorer), (baseline, _) = mean("token-list", scorer)
            XCTAssertGreaterThan(count, 40, "\(scorer): most neurons are scored")
            XCTAssertTrue((0.45...0.55).contains(control), "\(scorer): the shuffled control sits at chance: \(control)")
            // Random weights: the token list pins down which tokens fire (fuzzing) better than which contexts.
            XCTAssertGreaterThan(baseline, control + margin, scorer)
        }
        // The summary has every metric of every explainer × scorer, with its CI.
        let summary = try table(directory.appendingPathComponent("a/summary.csv").path)
        let detection = summary.filter { $0["scorer"] == "detection:keyword" && $0["layer"] == "all" }
        XCTAssertEqual(
            Set(detection.map { $0["metric"]! }),
            ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "auroc"])
        XCTAssertEqual(detection.count, 12)

        // Recomputed from judgements.jsonl.gz alone, numpy only: the labels and answers give the table's balanced
        // accuracy; no example is one the explainer was shown, and none repeats within a row.
        let check = try runProcess(
            URL(fileURLWithPath: "/usr/bin/env"),
            [
                "python3", "-c",
                """
                import csv, gzip, json, sys
                run = sys.argv[1]
                shown = {}
                for line in open(run + "/explanations.jsonl"):
                    e = json.loads(line)
                    shown[(e["layer"], e["neuron"], e["explainer"])] = set(e["explain_excerpt_ids"])
                table = {(int(r["layer"]), int(r["neuron"]), r["explainer"], r["scorer"]): r
                         for r in csv.DictReader(open(run + "/scores.csv", newline=""))}
                rows = 0
                for line in gzip.open(run + "/judgements.jsonl.gz", "rt"):
                    j = json.loads(line)
                    key = (j["layer"], j["neuron"], j["explainer"], j["scorer"])
                    ids = [x["excerpt_id"] for x in j["examples"]]
                    assert len(ids) == len(set(ids)), key
                    assert not (set(ids) & shown[key[:3]]), key
                    pos = [x for x in j["examples"] if x["label"] == 1]
                    neg = [x for x in j["examples"] if x["label"] == 0]
                    tpr = sum(x["answer"] for x in pos) / len(pos)
                    tnr = sum(1 - x["answer"] for x in neg) / len(neg)
                    assert abs((tpr + tnr) / 2 - float(table[key]["balanced_accuracy"])) < 1e-9, key
                    assert int(table[key]["activating_examples"]) == len(pos), key
                    rows += 1
                print("recomputed", rows)
                """, directory.appendingPathComponent("a").path,
            ])
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertTrue(check.stdout.hasPrefix("recomputed"), check.stdout)
        XCTAssertGreaterThan(
            Int(check.stdout.split(separator: " ")[1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 100)

        // compare works on any metric, and on a scorer's headline by default.
        let compared = try runCLI([
            "compare", directory.appendingPathComponent("a").path, directory.appendingPathComponent("b").path,
            "--metric", "f1",
        ])
        XCTAssertEqual(compared.status, 0, compared.stderr)
        XCTAssertTrue(compared.stdout.contains("f1, "), compared.stdout)
        XCTAssertFalse(compared.stdout.contains("simulation:keyword\n"), "simulation has no f1")
        let unknown = try runCLI([
            "compare", directory.appendingPathComponent("a").path, directory.appendingPathComponent("b").path,
            "--metric", "charm",
        ])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("balanced_accuracy"), unknown.stderr)
    }

    func testPuzzlesReportDetectionAndFuzzing() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let result = try runCLI([
            "puzzles", "--db", EvaluateCLITests.database, "--explainer", "token-list", "--scorer", "detection",
            "--scorer", "fuzzing", "--out", directory.path,
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = try table(directory.appendingPathComponent("puzzles.csv").path)
        for scorer in ["detection:keyword", "fuzzing:keyword"] {
            let score = Dictionary(
                uniqueKeysWithValues: rows.filter { $0["scorer"] == scorer }.map {
                    ($0["puzzle"]!, Double($0["score"]!)!)
                })
            XCTAssertEqual(score["single-token"]!, 1, accuracy: 1e-9, scorer)
            XCTAssertGreaterThanOrEqual(score["token-set"]!, 0.9, scorer)
            XCTAssertLessThan(abs(score["noise"]! - 0.5), 0.1, "\(scorer): noise is at chance")
            XCTAssertTrue(rows.filter { $0["scorer"] == scorer }.allSatisfy { $0["metric"] == "balanced_accuracy" })
        }
        // The intruder needs no explainer; with the keyword judge it finds the single token's intruder every time
        // and sits near chance (1/5) on noise.
        let intruder = try runCLI([
            "puzzles", "--db", EvaluateCLITests.database, "--scorer", "intruder", "--intruder-trials", "40",
            "--out", directory.appendingPathComponent("intruder").path,
        ])
        XCTAssertEqual(intruder.status, 0, intruder.stderr)
        let intruderRows = try table(directory.appendingPathComponent("intruder/puzzles.csv").path)
        XCTAssertTrue(intruderRows.allSatisfy { $0["explainer"] == "-" && $0["metric"] == "accuracy" })
        let accuracy = Dictionary(uniqueKeysWithValues: intruderRows.map { ($0["puzzle"]!, Double($0["score"]!)!) })
        XCTAssertEqual(accuracy["single-token"]!, 1, accuracy: 1e-9)
        XCTAssertTrue((0.05...0.35).contains(accuracy["noise"]!), "noise: \(accuracy["noise"]!)")
    }

    func testExampleOptionsAreCheckedAndRecordedInRunJSON() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        for (flag, value) in [
            ("--activation-threshold", "0"), ("--examples-per-call", "0"), ("--fuzzing-negatives", "both"),
        ] {
            let bad = try runCLI([
                "evaluate", "--db", EvaluateCLITests.database, "--explainer", "token-list", "--scorer", "detection",
                flag, value, "--out", directory.appendingPathComponent("bad").path,
            ])
            XCTAssertNotEqual(bad.status, 0, flag)
            XCTAssertTrue(bad.stderr.contains(flag), bad.stderr)
        }
        let run = try runCLI([
            "evaluate", "--db", EvaluateCLITests.database, "--neurons", "0", "--explainer", "token-list",
            "--scorer", "fuzzing", "--fuzzing-negatives", "shifted", "--activation-threshold", "0.3",
            "--out", directory.appendingPathComponent("run").path,
        ])
        XCTAssertEqual(run.status, 0, run.stderr)
        let manifest =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: directory.appendingPathComponent("run/run.json"))) as! [String: Any]
        XCTAssertEqual(manifest["scorers"] as? [String], ["fuzzing:keyword"])
        let examples = try XCTUnwrap(manifest["examples"] as? [String: Any])
        XCTAssertEqual(examples["fuzzing_negatives"] as? String, "shifted")
        XCTAssertEqual(examples["activation_threshold"] as? Double, 0.3)
        XCTAssertEqual(examples["activating_examples"] as? Int, 20)
        // A run without simulation scores has a report too: its fuzzing card and judged examples.
        let page = directory.appendingPathComponent("report.html").path
        let report = try runCLI(["report", directory.appendingPathComponent("run").path, "--out", page])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains("token-list / fuzzing:keyword: mean balanced_accuracy"), report.stdout)
        XCTAssertTrue(try String(contentsOfFile: page, encoding: .utf8).contains("Detection, fuzzing and intruder"))
    }
}
