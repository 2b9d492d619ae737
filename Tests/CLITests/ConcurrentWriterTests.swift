import Foundation
import Support
import TestSupport
import XCTest

/// One writer per database and per run directory: a second precompute, merge or evaluate on the same output is
/// refused at once by name, and two racing writers can never leave a file whose metadata contradicts its records.
final class ConcurrentWriterTests: XCTestCase {
    private typealias Small = PrecomputeCLITests

    /// Another process (this test) holds the lock: every writer is refused with the file and the holder named,
    /// and touches nothing.
    func testEveryWriterIsRefusedWhileAnotherProcessHoldsTheOutput() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = directory.appendingPathComponent("a.db").path
        let lock = try WriterLock(for: database)
        let refused = try runCLI(Small.precomputeArguments(database))
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("\(database): another neuronbench is writing it"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("pid \(getpid()) on host"), refused.stderr)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: database), "a refused writer creates nothing")
        lock.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: database + ".lock"), "released locks leave no file")

        let made = try runCLI(Small.precomputeArguments(database))
        XCTAssertEqual(made.status, 0, made.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: database + ".lock"))

        let merged = directory.appendingPathComponent("merged.db").path
        let mergeLock = try WriterLock(for: merged)
        let merge = try runCLI(["merge", database, "--out", merged])
        XCTAssertEqual(merge.status, 1, merge.stderr)
        XCTAssertTrue(merge.stderr.contains("\(merged): another neuronbench is writing it"), merge.stderr)
        mergeLock.release()

        let run = directory.appendingPathComponent("run").path
        let evaluate = [
            "evaluate", "--db", database, "--explainer", "token-list", "--simulator", "keyword", "--out", run,
        ]
        let runLock = try WriterLock(for: run)
        let refusedRun = try runCLI(evaluate)
        XCTAssertEqual(refusedRun.status, 1, refusedRun.stderr)
        XCTAssertTrue(refusedRun.stderr.contains("\(run): another neuronbench is writing it"), refusedRun.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run))
        runLock.release()
        XCTAssertEqual(try runCLI(evaluate).status, 0)
    }

    /// A writer killed with SIGKILL holds no lock: the kernel released it, and the rerun resumes.
    func testAKilledWriterLeavesNoLockBehind() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = directory.appendingPathComponent("a.db").path
        let killed = try runCLI(
            Small.precomputeArguments(database), environment: ["NEURONBENCH_KILL_AFTER_COMMIT": "3"])
        XCTAssertEqual(killed.status, SIGKILL, killed.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: database + ".lock"), "a killed writer leaves its file")
        let resumed = try runCLI(Small.precomputeArguments(database))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("(resumed)"), resumed.stderr)
    }

    /// Two shards started together on one `--out` (the repro): one writes, the other is refused, and the
    /// database's settings name the shard whose records it holds.
    func testTwoPrecomputesStartedTogetherNeverInterleave() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        for trial in 0..<3 {
            let database = directory.appendingPathComponent("race-\(trial).db").path
            let runs = try (0..<2).map {
                try CLIProcess(Small.precomputeArguments(database, ["--shard", "\($0)/2"]), scratch: directory)
            }
            let results = try runs.map { try $0.finish() }
            let winners = results.indices.filter { results[$0].status == 0 }
            XCTAssertEqual(winners.count, 1, "trial \(trial): \(results.map(\.stderr))")
            for loser in results.indices where results[loser].status != 0 {
                let message = results[loser].stderr
                XCTAssertTrue(
                    message.contains("another neuronbench is writing it") || message.contains("was made with"),
                    "trial \(trial): \(message)")
            }
            guard let winner = winners.first else { continue }
            let settings = try Small.tableDump(database, "SELECT value FROM metadata WHERE key = 'settings'")
            XCTAssertTrue(settings.contains("\"shardIndex\":\(winner)"), settings)
            let records = try Small.recordRows(database)
            XCTAssertEqual(Set(records.map { $0[5] % 2 }), [winner], "trial \(trial): only the winner's excerpts")
            XCTAssertEqual(records.filter { $0[0] == 0 && $0[1] == 0 && $0[2] == 0 }.count, 12, "trial \(trial)")
        }
    }

    /// A database whose settings say shard 1/2 but whose records are shard 0's (what two interleaved writers could
    /// leave) is refused by merge instead of doubling every record.
    func testMergeRefusesAShardWhoseRecordsAreAnotherShards() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let first = directory.appendingPathComponent("shard-0.db").path
        XCTAssertEqual(try runCLI(Small.precomputeArguments(first, ["--shard", "0/2"])).status, 0)
        let impostor = directory.appendingPathComponent("shard-1.db").path
        try FileManager.default.copyItem(atPath: first, toPath: impostor)
        try sqlite(
            impostor,
            """
            UPDATE metadata SET value = replace(value, '"shardIndex":0', '"shardIndex":1') WHERE key = 'settings'
            """)
        let merged = directory.appendingPathComponent("merged.db").path
        let result = try runCLI(["merge", first, impostor, "--out", merged])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("\(impostor) says it is shard 1/2"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: merged))
    }
}
