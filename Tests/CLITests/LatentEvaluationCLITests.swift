import Foundation
import TestSupport
import XCTest

/// An SAE-latent database through `evaluate`, `table` and `compare` as a user runs them: the dead latents (those
/// whose stored maximum is ≤ 0, read with Python's sqlite3) are exactly the `dead` rows of every explainer × scorer,
/// never failed and never scored; `table` shows a neuron run and a latent run side by side with each run's own
/// summary.csv numbers and the difference of the means; `compare` refuses to pair units that are not the same.
final class LatentEvaluationCLITests: XCTestCase {
    func testDeadLatentsAreCountedApartAndRunsOfDifferentUnitsAreShownSideBySideNotPaired() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let db = directory.appendingPathComponent("latents.db").path
        let precompute = try runCLI(LatentPrecomputeCLITests.arguments(db))
        XCTAssertEqual(precompute.status, 0, precompute.stderr)
        let query = try runPython([
            "-c",
            "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); print('\\n'.join(f'{l}:{n}' for l, n in db.execute('SELECT layer, neuron FROM neurons WHERE max <= 0 ORDER BY layer, neuron')))",
            db,
        ])
        XCTAssertEqual(query.status, 0, query.stderr)
        let dead = Set(query.stdout.split(separator: "\n").map(String.init))
        XCTAssertGreaterThan(dead.count, 0, "the fixture SAEs have dead latents")
        XCTAssertTrue(precompute.stderr.contains("dead (never > 0): \(dead.count) units"), precompute.stderr)

        let scoring = [
            "--explainer", "token-list", "--explainer", "shuffled", "--simulator", "keyword", "--scorer", "detection",
        ]
        let latents = directory.appendingPathComponent("latents").path
        let neurons = directory.appendingPathComponent("neurons").path
        for (database, out) in [(db, latents), (EvaluateCLITests.database, neurons)] {
            let result = try runCLI(["evaluate", "--db", database] + scoring + ["--out", out])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let scores = try parseCSV(String(contentsOfFile: latents + "/scores.csv", encoding: .utf8))
        let column = { (name: String) in scores[0].firstIndex(of: name)! }
        let rows = scores.dropFirst()
        let pairs = Set(rows.map { "\($0[column("explainer")]) \($0[column("scorer")])" })
        XCTAssertEqual(pairs.count, 4)
        for pair in pairs {
            let members = rows.filter { "\($0[column("explainer")]) \($0[column("scorer")])" == pair }
            let deadRows = members.filter { $0[column("status")] == "dead" }
            XCTAssertEqual(Set(deadRows.map { "\($0[column("layer")]):\($0[column("neuron")])" }), dead, pair)
            for row in deadRows {
                let headline = row[column("scorer")].hasPrefix("simulation") ? "correlation" : "balanced_accuracy"
                XCTAssertEqual(row[column(headline)], "NaN", "a dead unit's score is NaN, never 0")
            }
            XCTAssertEqual(members.filter { $0[column("status")] == "failed" }.count, 0, pair)
        }
        let summary = try parseCSV(String(contentsOfFile: latents + "/summary.csv", encoding: .utf8))
        let deadColumn = try XCTUnwrap(summary[0].firstIndex(of: "dead"))
        for row in summary.dropFirst() where row[5] == "all" { XCTAssertEqual(row[deadColumn], "\(dead.count)") }

        // Only dead units selected: nothing to score, a one-line refusal, no run written.
        let onlyDead = try runCLI(
            ["evaluate", "--db", db, "--neurons", dead.sorted().prefix(2).joined(separator: ",")] + scoring + [
                "--out", directory.appendingPathComponent("dead").path,
            ])
        XCTAssertEqual(onlyDead.status, 1)
        XCTAssertTrue(onlyDead.stderr.contains("every selected unit is dead"), onlyDead.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("dead").path))

        // Side by side: each cell is that run's own summary.csv headline row.
        let csv = directory.appendingPathComponent("table.csv").path
        let table = try runCLI(["table", neurons, latents, "--out", csv])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("latents − neurons"), table.stdout)
        XCTAssertTrue(table.stdout.contains("shuffled(token-list) / simulation:keyword (control)"), table.stdout)
        let cells = try parseCSV(String(contentsOfFile: csv, encoding: .utf8))
        XCTAssertEqual(
            cells[0],
            [
                "run", "explainer", "scorer", "metric", "units", "scored", "dead", "failed", "mean", "ci95_low",
                "ci95_high", "share", "share_threshold",
            ])
        XCTAssertEqual(cells.count, 1 + 2 * 4)
        var means: [String: Double] = [:]
        for cell in cells.dropFirst() {
            let run = cell[0] == "neurons" ? neurons : latents
            let own = try parseCSV(String(contentsOfFile: run + "/summary.csv", encoding: .utf8))
            let header = own[0]
            let row = try XCTUnwrap(
                own.first {
                    $0[0] == cell[1] && $0[1] == cell[2] && $0[header.firstIndex(of: "metric")!] == cell[3]
                        && $0[5] == "all"
                })
            func assertSame(_ a: String, _ b: String, _ name: String) {
                let (x, y) = (Double(a)!, Double(b)!)
                XCTAssertTrue(x.isNaN && y.isNaN || abs(x - y) <= 1e-12, "\(cell) \(name): \(a) vs \(b)")
            }
            for (name, index) in [("mean", 8), ("ci95_low", 9), ("ci95_high", 10)] {
                assertSame(cell[index], row[header.firstIndex(of: name)!], name)
            }
            XCTAssertEqual(cell[5], row[header.firstIndex(of: "scored")!])
            let share = cell[3] == "correlation" ? "fraction_ge_0.5" : "fraction_ge_0.8"
            assertSame(cell[11], row[header.firstIndex(of: share)!], share)
            XCTAssertEqual(cell[6], cell[0] == "latents" ? "\(dead.count)" : row[header.firstIndex(of: "dead")!])
            means["\(cell[0]) \(cell[1]) \(cell[2])"] = Double(cell[8])!
        }
        let difference =
            means["latents token-list simulation:keyword"]! - means["neurons token-list simulation:keyword"]!
        XCTAssertTrue(difference.isFinite, "both runs score some units by simulation")
        let line = try XCTUnwrap(table.stdout.split(separator: "\n").first { $0.hasPrefix("token-list / simulation") })
        XCTAssertTrue(line.contains(String(format: "%+6.3f [", difference)), String(line))

        // Neuron 1:3 and latent 1:3 share an id and nothing else: no paired comparison.
        let compare = try runCLI(["compare", neurons, latents])
        XCTAssertEqual(compare.status, 1)
        XCTAssertTrue(compare.stderr.contains("a paired comparison needs the same units"), compare.stderr)
        XCTAssertTrue(compare.stderr.contains("neuronbench table"), compare.stderr)
        XCTAssertEqual(compare.stderr.split(separator: "\n").count, 1, compare.stderr)
    }
}
