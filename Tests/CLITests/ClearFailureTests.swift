import Foundation
import TestSupport
import XCTest

/// Every bad argument, config or checkpoint gets a message naming the problem and a non-zero exit: never a
/// signal, a backtrace or a hang, and nothing written.
final class ClearFailureTests: XCTestCase {
    private typealias Small = PrecomputeCLITests

    /// A copy of the small fixture checkpoint with `edit` applied to its config.json.
    private func checkpoint(in directory: URL, _ name: String, _ edit: (inout [String: Any]) -> Void) throws -> String {
        let copy = directory.appendingPathComponent(name)
        try FileManager.default.copyItem(atPath: Small.model, toPath: copy.path)
        let url = copy.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        return copy.path
    }

    /// Exit 1 (a neuronbench error) or 64 (an argument error), never a signal; the problem named; no backtrace.
    private func assertCleanFailure(
        _ result: CLIResult, _ fragment: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertTrue(
            [1, 64].contains(result.status), "status \(result.status): \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(fragment), "\(result.stderr) lacks \(fragment)", file: file, line: line)
        for crash in ["Fatal error", "Backtrace", "Stack dump", "Current stack trace"] {
            XCTAssertFalse(result.stderr.contains(crash), result.stderr, file: file, line: line)
        }
        let first = result.stderr.split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertTrue(first.lowercased().contains("error"), "first line: \(first)", file: file, line: line)
    }

    func testBadSizesAndRangesAreMessagesNotCrashes() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = directory.appendingPathComponent("d.db").path
        XCTAssertEqual(try runCLI(Small.precomputeArguments(database)).status, 0)
        let out = directory.appendingPathComponent("a.db").path
        func precompute(_ extra: [String], model: String = Small.model) -> [String] {
            var arguments = Small.precomputeArguments(out, extra)
            arguments[arguments.firstIndex(of: "--model")! + 1] = model
            return arguments
        }
        let cases: [([String], String)] = [
            (precompute(["--layers", "3-1"]), "--layers"),
            (precompute(["--layers", "0-1000000000000"]), "--layers"),
            (precompute(["--excerpt-tokens", "0"]), "--excerpt-tokens"),
            (precompute(["--context-tokens", "0"]), "--context-tokens"),
            (["inspect", "--db", database, "--neuron", "0:0", "--records=-1"], "--records"),
            (
                precompute([], model: try checkpoint(in: directory, "huge-n-layer") { $0["n_layer"] = 1_000_000_000 }),
                "n_layer is 1000000000, beyond any GPT-2"
            ),
            (
                precompute([], model: try checkpoint(in: directory, "more-layers") { $0["n_layer"] = 100 }),
                "tensor 'h.2."
            ),
            (
                precompute(
                    [],
                    model: try checkpoint(in: directory, "huge-n-embd") {
                        $0["n_embd"] = 1 << 62
                        $0.removeValue(forKey: "n_inner")
                    }), "n_embd is 4611686018427387904, beyond any GPT-2"
            ),
            (
                precompute([], model: try checkpoint(in: directory, "fractional") { $0["n_layer"] = 4.5 }),
                "n_layer: must be an integer, got 4.5"
            ),
        ]
        for (arguments, fragment) in cases {
            assertCleanFailure(try runCLI(arguments), fragment)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(fragment): nothing is written")
        }
    }

    /// `model.safetensors` a symlink to /dev/zero: refused at once (it used to be hashed forever), with no
    /// database left behind to refuse the corrected re-run.
    func testACheckpointThatIsADeviceIsRefusedAtOnce() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let model = try checkpoint(in: directory, "zero") { _ in }
        let weights = model + "/model.safetensors"
        try FileManager.default.removeItem(atPath: weights)
        try FileManager.default.createSymbolicLink(atPath: weights, withDestinationPath: "/dev/zero")
        let out = directory.appendingPathComponent("a.db").path
        var arguments = Small.precomputeArguments(out)
        arguments[arguments.firstIndex(of: "--model")! + 1] = model
        let run = try CLIProcess(arguments, scratch: directory)
        let deadline = Date().addingTimeInterval(60)
        while run.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if run.isRunning { run.kill() }
        let result = try run.finish()
        assertCleanFailure(result, "\(weights): not a valid safetensors file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        try FileManager.default.removeItem(atPath: weights)
        try FileManager.default.copyItem(atPath: Small.model + "/model.safetensors", toPath: weights)
        let fixed = try runCLI(arguments)
        XCTAssertEqual(fixed.status, 0, fixed.stderr)
    }
}

/// Corpus text printed on a terminal cannot drive it: control characters are shown escaped, JSON stays data.
final class TerminalInjectionTests: XCTestCase {
    func testInspectEscapesControlCharactersAndJSONKeepsThem() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = directory.appendingPathComponent("d.db").path
        XCTAssertEqual(try runCLI(PrecomputeCLITests.precomputeArguments(database)).status, 0)
        // An OSC 52 clipboard write, a colour change and a bell, as the text of the top record's first token.
        let hostile = "\u{1B}]52;c;SGVsbG8=\u{07}\u{1B}[31mred\u{9B}2J"
        let hex = Array(hostile.utf8).map { String(format: "%02X", $0) }.joined()
        // Neuron 0:0's first packed record is its top one: bytes 4-7 its excerpt id, whose first token is renamed.
        try python(
            """
            import sqlite3, struct, sys
            c = sqlite3.connect(sys.argv[1])
            (records,) = c.execute("SELECT records FROM neurons WHERE layer = 0 AND neuron = 0").fetchone()
            assert records[0] == 0 and records[2:4] == bytes(2), "the first record is the top one, rank 0"
            (excerpt,) = struct.unpack_from("<I", records, 4)
            (ids,) = c.execute("SELECT token_ids FROM excerpts WHERE id = ?", (excerpt,)).fetchone()
            c.execute("UPDATE vocabulary SET token = ? WHERE id = ?", (bytes.fromhex(sys.argv[2]), struct.unpack_from("<I", ids)[0]))
            c.commit()
            """, database, hex)
        let text = try runCLI(["inspect", "--db", database, "--neuron", "0:0", "--records", "1"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("\\u{1B}]52;c;SGVsbG8=\\u{7}\\u{1B}[31mred\\u{9B}2J"), text.stdout)
        for control in ["\u{1B}", "\u{07}", "\u{9B}"] { XCTAssertFalse(text.stdout.contains(control)) }

        let json = try runCLI(["inspect", "--db", database, "--neuron", "0:0", "--records", "1", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        let top = ((object["records"] as! [String: Any])["top"] as! [[String: Any]])[0]
        XCTAssertEqual((top["tokens"] as! [String])[0], hostile)
    }
}

/// A report is drawn from the database its run was evaluated on, whatever directory either command ran in.
final class ReportDatabaseTests: XCTestCase {
    func testAReportOverAnotherDatabaseIsRefusedAndRelativePathsResolve() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = directory.appendingPathComponent("d.db").path
        XCTAssertEqual(try runCLI(PrecomputeCLITests.precomputeArguments(database)).status, 0)
        let other = directory.appendingPathComponent("other.db").path
        XCTAssertEqual(try runCLI(PrecomputeCLITests.precomputeArguments(other, ["--seed", "1"])).status, 0)
        // Evaluated from inside `directory` with relative paths; reported from elsewhere.
        let evaluated = try runCLI(
            ["evaluate", "--db", "d.db", "--explainer", "token-list", "--simulator", "keyword", "--out", "R"],
            in: directory)
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        let run = directory.appendingPathComponent("R").path
        let report = directory.appendingPathComponent("r.html").path
        let found = try runCLI(["report", run, "--out", report])
        XCTAssertEqual(found.status, 0, found.stderr)

        let wrong = try runCLI(["report", run, "--db", other, "--out", report])
        XCTAssertEqual(wrong.status, 1, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("\(other): this is not the database the run"), wrong.stderr)
        XCTAssertEqual(wrong.stderr.split(separator: "\n").count, 1, wrong.stderr)
    }
}

/// Inputs that used to be accepted without a word: each is refused or reported.
final class SilentInputTests: XCTestCase {
    private typealias Small = PrecomputeCLITests

    func testSelectionsOptionsAndImportsThatMeanNothingAreRefusedOrReported() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = directory.appendingPathComponent("d.db").path
        XCTAssertEqual(try runCLI(Small.precomputeArguments(database)).status, 0)
        let out = directory.appendingPathComponent("R").path
        func evaluate(_ extra: [String]) -> [String] {
            ["evaluate", "--db", database, "--out", out, "--simulator", "keyword"]
                + (extra.contains("--explainer") ? extra : extra + ["--explainer", "token-list"])
        }
        let refusals: [([String], Int32, String)] = [
            (evaluate(["--neurons", ""]), 1, "neuron selection is empty"),
            (evaluate(["--neurons", "random:1e9"]), 1, "needs a positive whole number of neurons"),
            (evaluate(["--score-records", "0"]), 64, "--score-records must score at least one record"),
            (evaluate(["--explainer", "constant:"]), 1, "constant: needs a text"),
            (
                Small.precomputeArguments(
                    directory.appendingPathComponent("p.db").path, ["--checkpoint-seconds", "nan"]),
                64, "--checkpoint-seconds"
            ),
        ]
        for (arguments, status, fragment) in refusals {
            let result = try runCLI(arguments)
            XCTAssertEqual(result.status, status, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(fragment), "\(arguments): \(result.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        // An import with a boolean layer and with neurons the database lacks: both reported, the rest evaluated.
        let file = directory.appendingPathComponent("mine.jsonl")
        try Data(
            """
            {"layer": 0, "neuron": 1, "explanation": "the word \\"the\\""}
            {"layer": true, "neuron": 2, "explanation": "a boolean layer"}
            {"layer": 7, "neuron": 3, "explanation": "a layer this model lacks"}
            {"layer": 0, "neuron": 900, "explanation": "a neuron this model lacks"}

            """.utf8
        ).write(to: file)
        let imported = try runCLI(evaluate(["--explainer", "file:\(file.path)", "--neurons", "0:0-3"]))
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertTrue(
            imported.stderr.contains("line 2: layer and neuron must be non-negative integers"), imported.stderr)
        XCTAssertTrue(
            imported.stderr.contains("2 explained neurons are not in \(database) (e.g. 0:900)"), imported.stderr)

        // compare needs finished runs; merge refuses a complete shard without neurons.
        let unfinished = directory.appendingPathComponent("unfinished").path
        try FileManager.default.copyItem(atPath: out, toPath: unfinished)
        try FileManager.default.removeItem(atPath: unfinished + "/run.json")
        let compare = try runCLI(["compare", out, unfinished])
        XCTAssertEqual(compare.status, 1, compare.stderr)
        XCTAssertTrue(compare.stderr.contains("\(unfinished)/run.json: not found"), compare.stderr)
        let empty = directory.appendingPathComponent("empty.db").path
        try FileManager.default.copyItem(atPath: database, toPath: empty)
        try sqlite(empty, "DELETE FROM neurons")
        let merge = try runCLI(["merge", empty, "--out", directory.appendingPathComponent("m.db").path])
        XCTAssertEqual(merge.status, 1, merge.stderr)
        XCTAssertTrue(merge.stderr.contains("\(empty) is marked complete but records no neurons"), merge.stderr)
    }

    /// A merge that fails on a bad input names that input, never its own temporary file, and leaves none.
    func testAMergeFailureNamesTheInputAndLeavesNoTemporaryFile() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = directory.appendingPathComponent("d.db").path
        XCTAssertEqual(try runCLI(Small.precomputeArguments(database)).status, 0)
        try sqlite(database, "ALTER TABLE excerpts DROP COLUMN token_ids")
        let merged = directory.appendingPathComponent("m.db").path
        let result = try runCLI(["merge", database, "--out", merged])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("\(database): corrupt database: its corpus tables cannot be copied"))
        XCTAssertFalse(result.stderr.contains(".partial"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("m.db") }
        XCTAssertEqual(left, [])
    }
}
