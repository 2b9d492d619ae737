import Foundation
import TestSupport
import XCTest

/// What evaluate and report do to the files already at their `--out`: a complete run is replaced only by another
/// complete run, two runs never mix, and a report never overwrites what is not a report.
final class RunDirectoryTests: XCTestCase {
    private typealias Small = PrecomputeCLITests

    private func database(in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("a.db").path
        let made = try runCLI(Small.precomputeArguments(path))
        XCTAssertEqual(made.status, 0, made.stderr)
        return path
    }

    private func evaluate(_ database: String, _ out: String, _ extra: [String] = []) -> [String] {
        ["evaluate", "--db", database, "--out", out]
            + (extra.isEmpty ? ["--explainer", "token-list", "--simulator", "keyword"] : extra)
    }

    /// The issue's repro: a complete run in R, then an evaluate into R that fails (its database lost its
    /// records). R keeps every byte of the first run.
    func testAFailedEvaluateLeavesTheEarlierRunAsItWas() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = try database(in: directory)
        let run = directory.appendingPathComponent("R").path
        XCTAssertEqual(try runCLI(evaluate(database, run)).status, 0)
        let before = try RunFiles(run)

        let broken = directory.appendingPathComponent("broken.db").path
        try FileManager.default.copyItem(atPath: database, toPath: broken)
        try sqlite(broken, "UPDATE neurons SET records = X''")
        let failed = try runCLI(evaluate(broken, run))
        XCTAssertNotEqual(failed.status, 0, failed.stderr)
        XCTAssertTrue(failed.stderr.contains("\(broken): corrupt database"), failed.stderr)
        XCTAssertEqual(try RunFiles(run), before)

        // An LLM outage (nothing listens on the port): every explanation fails, so the run is a failure too.
        let outage = try runCLI(
            evaluate(
                database, run,
                [
                    "--neurons", "0:0-3", "--explainer", "llm", "--simulator", "keyword", "--llm-model", "m",
                    "--llm-base-url", "http://127.0.0.1:9/v1", "--llm-retries", "0", "--llm-cache", "",
                ]))
        XCTAssertEqual(outage.status, 1, outage.stderr)
        XCTAssertTrue(outage.stderr.contains("no unit could be scored"), outage.stderr)
        XCTAssertTrue(outage.stderr.contains("nothing was written to \(run)"), outage.stderr)
        XCTAssertEqual(try RunFiles(run), before)
        let hidden = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(hidden, [], "a failed run removes its staging directory and its lock")
    }

    /// Two evaluates started together into one `--out` (the issue's repro): the directory holds one whole run,
    /// its run.json, scores.csv and summary.csv agreeing, whichever won; a refused run says why.
    func testTwoEvaluatesStartedTogetherLeaveOneWholeRun() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = try database(in: directory)
        for trial in 0..<3 {
            let run = directory.appendingPathComponent("R\(trial)").path
            let first = try CLIProcess(evaluate(database, run), scratch: directory)
            let second = try CLIProcess(
                evaluate(
                    database, run,
                    ["--neurons", "0:0-9", "--explainer", "constant:hello", "--simulator", "keyword"]),
                scratch: directory)
            let results = [try first.finish(), try second.finish()]
            XCTAssertTrue(results.contains { $0.status == 0 }, "\(results.map(\.stderr))")
            for result in results where result.status != 0 {
                XCTAssertTrue(result.stderr.contains("another neuronbench is writing it"), result.stderr)
            }
            let manifest = try String(contentsOfFile: run + "/run.json", encoding: .utf8)
            let explainer = manifest.contains("constant:hello") ? "constant:hello" : "token-list"
            for file in ["scores.csv", "summary.csv"] {
                let lines = try String(contentsOfFile: run + "/" + file, encoding: .utf8).split(
                    whereSeparator: \.isNewline)
                XCTAssertGreaterThan(lines.count, 1)
                XCTAssertTrue(lines.dropFirst().allSatisfy { $0.contains(explainer) }, "trial \(trial): \(file)")
            }
            let scores = try String(contentsOfFile: run + "/scores.csv", encoding: .utf8)
            XCTAssertEqual(scores.split(whereSeparator: \.isNewline).count - 1, explainer == "token-list" ? 64 : 10)
        }
    }

    /// A run replaces only an earlier run: a directory of other work (or the working directory) is refused and left
    /// alone, and files in an earlier run that are not the run's own (its report) are carried over, not deleted.
    func testEvaluateReplacesOnlyAnEarlierRunAndKeepsItsOtherFiles() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = try database(in: directory)
        let work = directory.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try Data("my notes".utf8).write(to: work.appendingPathComponent("notes.txt"))
        let refusals = [
            (work.path, "is not an evaluation run directory"),
            (FileManager.default.currentDirectoryPath, "is the working directory"),
        ]
        for (out, reason) in refusals {
            let refused = try runCLI(evaluate(database, out))
            XCTAssertEqual(refused.status, 1, refused.stderr)
            XCTAssertTrue(refused.stderr.contains(reason), refused.stderr)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), ["notes.txt"])

        let run = directory.appendingPathComponent("R").path
        XCTAssertEqual(try runCLI(evaluate(database, run)).status, 0)
        XCTAssertEqual(try runCLI(["report", run, "--out", run + "/report.html"]).status, 0)
        let report = try Data(contentsOf: URL(fileURLWithPath: run + "/report.html"))
        XCTAssertEqual(
            try runCLI(evaluate(database, run, ["--explainer", "shuffled", "--simulator", "keyword"])).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: run + "/report.html")), report)
        XCTAssertTrue(try String(contentsOfFile: run + "/run.json", encoding: .utf8).contains("shuffled"))
    }

    /// `report --out` refuses its own database, the run's files and any file that is not a report; it replaces
    /// an earlier report, also one written before reports carried their generator tag.
    func testReportNeverOverwritesItsInputsOrAFileThatIsNotAReport() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = try database(in: directory)
        let run = directory.appendingPathComponent("R").path
        XCTAssertEqual(try runCLI(evaluate(database, run)).status, 0)
        let databaseBytes = try Data(contentsOf: URL(fileURLWithPath: database))
        let link = directory.appendingPathComponent("link.db").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: database)
        let notes = directory.appendingPathComponent("notes.html").path
        try Data("<html>my notes</html>".utf8).write(to: URL(fileURLWithPath: notes))
        let refusals: [(out: String, reason: String)] = [
            (database, "it is the report's database"),
            (link, "it is the report's database"),
            (run + "/scores.csv", "one of the run's files"),
            (run + "/run.json", "one of the run's files"),
            (run, "it is the run directory"),
            (notes, "not a neuronbench report"),
        ]
        for (out, reason) in refusals {
            let result = try runCLI(["report", run, "--db", database, "--out", out])
            XCTAssertEqual(result.status, 1, "\(out): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(reason), "\(out): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: database)), databaseBytes)
        XCTAssertEqual(try String(contentsOfFile: notes, encoding: .utf8), "<html>my notes</html>")
        XCTAssertEqual(Set(try RunFiles(run).files.keys).count, 6, "the six files of a run, untouched")
        XCTAssertEqual(
            try runCLI(["report", run, "--out", run + "/report.html"]).status, 0, "a report may live in its run")

        let report = directory.appendingPathComponent("report.html").path
        XCTAssertEqual(try runCLI(["report", run, "--out", report]).status, 0)
        let html = try String(contentsOfFile: report, encoding: .utf8)
        XCTAssertTrue(html.contains("<meta name=\"generator\" content=\"neuronbench "), String(html.prefix(400)))
        XCTAssertEqual(try runCLI(["report", run, "--out", report]).status, 0, "a report replaces a report")
        // A report from before the generator tag: recognised by its title.
        try Data(html.replacingOccurrences(of: "<meta name=\"generator\"", with: "<meta name=\"x\"").utf8)
            .write(to: URL(fileURLWithPath: report))
        XCTAssertEqual(try runCLI(["report", run, "--out", report]).status, 0, "an older report is replaced too")
    }
}
