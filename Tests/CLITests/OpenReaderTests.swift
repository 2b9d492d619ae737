import Foundation
import TestSupport
import XCTest

/// An idle reader (`sqlite3 D`, the Python reader) holding the database open while a precompute finishes: the run
/// must not fail for it. It completes in WAL mode and says so, or becomes one file once the reader lets go.
final class OpenReaderTests: XCTestCase {
    private typealias Small = PrecomputeCLITests

    /// Python's sqlite3 opens `path`, reads once, says "ready", stays open for `seconds`, then closes.
    private func startReader(_ path: String, seconds: Double) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1])
            c.execute("SELECT count(*) FROM metadata").fetchall()
            print("ready", flush=True)
            time.sleep(float(sys.argv[2]))
            c.close()
            """,
            path, String(seconds),
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let line = output.fileHandleForReading.readData(ofLength: 6)
        XCTAssertEqual(String(decoding: line, as: UTF8.self), "ready\n")
        return process
    }

    private func interruptedRun(_ directory: URL) throws -> (database: String, arguments: [String]) {
        let database = directory.appendingPathComponent("a.db").path
        let arguments = Small.precomputeArguments(database)
        let killed = try runCLI(arguments, environment: ["NEURONBENCH_KILL_AFTER_COMMIT": "3"])
        XCTAssertEqual(killed.status, SIGKILL, killed.stderr)
        return (database, arguments)
    }

    func testAReaderThatStaysOpenLeavesACompleteDatabaseInWALModeAndSaysSo() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let (database, arguments) = try interruptedRun(directory)
        let reader = try startReader(database, seconds: 60)
        defer { reader.terminate() }
        let resumed = try runCLI(arguments)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("(resumed)"), resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("is complete but in WAL mode"), resumed.stderr)
        XCTAssertEqual(
            try Small.tableDump(database, "SELECT value FROM metadata WHERE key = 'status'"), "[('\"complete\"',)]\n")
        let inspected = try runCLI(["inspect", "--db", database, "--neuron", "0:0"])
        XCTAssertEqual(inspected.status, 0, inspected.stderr)
        XCTAssertTrue(inspected.stderr.contains("in WAL mode"), inspected.stderr)

        // The records are those of an uninterrupted run without a reader.
        let reference = directory.appendingPathComponent("reference.db").path
        XCTAssertEqual(try runCLI(Small.precomputeArguments(reference)).status, 0)
        for sql in PrecomputeCLITests.comparedQueries {
            XCTAssertEqual(try Small.tableDump(database, sql), try Small.tableDump(reference, sql), sql)
        }
    }

    func testAReaderThatClosesSoonLeavesOneFile() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let (database, arguments) = try interruptedRun(directory)
        let reader = try startReader(database, seconds: 1)
        let resumed = try runCLI(arguments)
        reader.waitUntilExit()
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertFalse(resumed.stderr.contains("WAL mode"), resumed.stderr)
        XCTAssertEqual(try Small.tableDump(database, "PRAGMA journal_mode"), "[('delete',)]\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: database + "-wal"))
    }
}
