import Foundation
import TestSupport
import XCTest

/// Kills at known points, with `NEURONBENCH_KILL_AFTER_COMMIT=N` (the process SIGKILLs itself right after its
/// N-th commit), so that what a kill leaves behind and what a rerun makes of it do not depend on the machine's
/// speed. A precompute commits: 1 the schema, 2 the tokenized corpus, 3 the pilot, then one per checkpoint, then
/// the final write. A merge: 1 the schema, 2 the corpus, 3 the neurons. An evaluation: 1 its streamed files, 2
/// summary.csv, 3 run.json (all in its staging directory), 4 the swap into place.
final class KillSwitchTests: XCTestCase {
    private typealias Small = PrecomputeCLITests

    func run(_ arguments: [String], killAfter commit: Int?) throws -> CLIResult {
        try runCLI(arguments, environment: commit.map { ["NEURONBENCH_KILL_AFTER_COMMIT": String($0)] } ?? [:])
    }

    func assertKilled(_ result: CLIResult, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        // A process killed by a signal reports the signal number as its status (Foundation's uncaughtSignal).
        XCTAssertEqual(
            result.status, SIGKILL, "\(message): expected SIGKILL, got \(result.status): \(result.stderr)", file: file,
            line: line)
    }

    func query(_ path: String, _ sql: String) throws -> String { try Small.tableDump(path, sql) }

    func assertSameTables(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        for sql in PrecomputeCLITests.comparedQueries {
            XCTAssertEqual(try query(a, sql), try query(b, sql), sql, file: file, line: line)
        }
    }

    func testPrecomputeKilledAfterEachPhaseResumesToTheUninterruptedRecords() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let reference = directory.appendingPathComponent("reference.db").path
        let plain = try runCLI(Small.precomputeArguments(reference, ["--batch", "8"]))
        XCTAssertEqual(plain.status, 0, plain.stderr)

        // What each phase's commit leaves, checked right after the kill.
        let expectations: [(commit: Int, progress: String, status: String)] = [
            (1, "[]", "[('\"running\"',)]"),  // schema only
            (2, "[('tokenized',)]", "[('\"running\"',)]"),  // + corpus
            (3, "[('pilot',), ('tokenized',)]", "[('\"running\"',)]"),  // + pilot
            // + a checkpoint
            (4, "[('next_excerpt',), ('pilot',), ('state.0',), ('state.1',), ('tokenized',)]", "[('\"running\"',)]"),
        ]
        for expected in expectations {
            let killed = directory.appendingPathComponent("killed-\(expected.commit).db").path
            let arguments = Small.precomputeArguments(killed, ["--batch", "8"])
            assertKilled(try run(arguments, killAfter: expected.commit), "commit \(expected.commit)")
            XCTAssertEqual(
                try query(killed, "SELECT key FROM progress ORDER BY 1"), expected.progress + "\n",
                "commit \(expected.commit)")
            XCTAssertEqual(try query(killed, "SELECT value FROM metadata WHERE key = 'status'"), expected.status + "\n")
            let refused = try runCLI(["inspect", "--db", killed, "--neuron", "0:0"])
            XCTAssertEqual(refused.status, 1)
            XCTAssertTrue(refused.stderr.contains("has not finished"), refused.stderr)
            let resumed = try runCLI(arguments)
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
            XCTAssertEqual(resumed.stderr.contains("(resumed)"), expected.commit >= 2, resumed.stderr)
            try assertSameTables(killed, reference)
        }
    }

    /// Killed two commits into every invocation, a run walks through all its checkpoints, each resumed once.
    func testPrecomputeKilledAtEveryCheckpointStillGivesTheUninterruptedRecords() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let reference = directory.appendingPathComponent("reference.db").path
        XCTAssertEqual(try runCLI(Small.precomputeArguments(reference, ["--batch", "16"])).status, 0)
        let killed = directory.appendingPathComponent("killed.db").path
        var kills = 0
        while kills < 200 {
            let result = try run(Small.precomputeArguments(killed, ["--batch", "16"]), killAfter: 2)
            if result.status == 0 { break }
            assertKilled(result, "invocation \(kills + 1)")
            kills += 1
        }
        XCTAssertGreaterThan(kills, 3, "tokenize, pilot and at least two checkpoints are each a kill point")
        try assertSameTables(killed, reference)
    }

    /// Killed right after the final commit (before compacting): the database is complete and whole, and a rerun
    /// leaves it as it is.
    func testPrecomputeKilledAfterItsFinalCommitIsCompleteAndWhole() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let reference = directory.appendingPathComponent("reference.db").path
        let noCheckpoints = ["--checkpoint-seconds", "100000"]
        XCTAssertEqual(try runCLI(Small.precomputeArguments(reference, noCheckpoints)).status, 0)
        let killed = directory.appendingPathComponent("killed.db").path
        assertKilled(try run(Small.precomputeArguments(killed, noCheckpoints), killAfter: 4), "final commit")
        XCTAssertEqual(try query(killed, "SELECT value FROM metadata WHERE key = 'status'"), "[('\"complete\"',)]\n")
        try assertSameTables(killed, reference)
        let again = try runCLI(Small.precomputeArguments(killed, noCheckpoints))
        XCTAssertEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("already complete"), again.stderr)
    }

    func testMergeKilledAtAnyCommitLeavesNoOutputAndRerunsCleanly() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let shards = (0..<2).map { directory.appendingPathComponent("shard-\($0).db").path }
        for (index, shard) in shards.enumerated() {
            XCTAssertEqual(try runCLI(Small.precomputeArguments(shard, ["--shard", "\(index)/2"])).status, 0)
        }
        let merged = directory.appendingPathComponent("merged.db").path
        for commit in 1...3 {
            assertKilled(try run(["merge"] + shards + ["--out", merged], killAfter: commit), "merge commit \(commit)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: merged), "a killed merge never leaves its output")
        }
        let result = try runCLI(["merge"] + shards + ["--out", merged])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: merged + ".partial"))
        let single = directory.appendingPathComponent("single.db").path
        XCTAssertEqual(try runCLI(Small.precomputeArguments(single)).status, 0)
        XCTAssertEqual(
            try query(merged, "SELECT layer, neuron, records, activations FROM neurons ORDER BY 1, 2"),
            try query(single, "SELECT layer, neuron, records, activations FROM neurons ORDER BY 1, 2"))
    }

    /// An evaluation is built aside and swapped into place as its last commit: killed before that, it leaves no run
    /// (or the earlier run, untouched); killed right after, a finished one.
    func testEvaluationKilledBeforeItsSwapLeavesTheEarlierRunAsItWas() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = directory.appendingPathComponent("run.db").path
        XCTAssertEqual(try runCLI(Small.precomputeArguments(database)).status, 0)
        let out = directory.appendingPathComponent("evaluation").path
        let arguments = [
            "evaluate", "--db", database, "--explainer", "token-list", "--simulator", "keyword", "--out", out,
        ]
        let report = ["report", out, "--out", directory.appendingPathComponent("r.html").path]
        for commit in 1...3 {
            assertKilled(try run(arguments, killAfter: commit), "evaluation commit \(commit)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "commit \(commit): nothing in place yet")
            XCTAssertEqual(try runCLI(report).status, 1)
        }
        assertKilled(try run(arguments, killAfter: 4), "evaluation commit 4")
        let finished = try runCLI(report)
        XCTAssertEqual(finished.status, 0, "killed after the swap: a finished run: \(finished.stderr)")
        let before = try RunFiles(out)
        XCTAssertEqual(
            Set(before.files.keys),
            [
                "scores.csv", "summary.csv", "explanations.jsonl", "simulations.jsonl.gz", "judgements.jsonl.gz",
                "run.json",
            ])

        // A second run over the first, killed at each commit before its swap: the first stays byte for byte.
        let other = [
            "evaluate", "--db", database, "--explainer", "shuffled", "--simulator", "keyword", "--out", out,
        ]
        for commit in 1...3 {
            assertKilled(try run(other, killAfter: commit), "second evaluation commit \(commit)")
            XCTAssertEqual(try RunFiles(out), before, "commit \(commit)")
        }
        XCTAssertEqual(try runCLI(other).status, 0)
        XCTAssertNotEqual(try RunFiles(out), before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "a finished run leaves no staging directory or lock")
    }
}

/// Every file of a run directory, by name, for byte-for-byte comparisons.
struct RunFiles: Equatable {
    let files: [String: Data]
    init(_ path: String) throws {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            files[name] = try Data(contentsOf: URL(fileURLWithPath: path).appendingPathComponent(name))
        }
        self.files = files
    }
}
