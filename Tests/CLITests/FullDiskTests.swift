import Foundation
import TestSupport
import XCTest

/// A full disk during evaluate is one clear line and a non-zero exit, never a backtrace (Foundation's
/// `FileHandle.write(_:)` traps) and never a run that looks complete. The disk is a small tmpfs, mounted as root;
/// where mounting is refused the test is skipped with the reason.
final class FullDiskTests: XCTestCase {
    private typealias Small = PrecomputeCLITests

    func testAFullDiskDuringEvaluateIsOneLineAndLeavesNothingThatLooksComplete() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let database = directory.appendingPathComponent("a.db").path
        XCTAssertEqual(try runCLI(Small.precomputeArguments(database)).status, 0)
        let disk = directory.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        let mount = try shell("/bin/mount", ["-t", "tmpfs", "-o", "size=24k", "tmpfs", disk.path])
        guard mount.status == 0 else { throw XCTSkip("cannot mount a tmpfs here: \(mount.output)") }
        addTeardownBlock { _ = try? self.shell("/bin/umount", ["-l", disk.path]) }

        let run = disk.appendingPathComponent("R").path
        let result = try runCLI([
            "evaluate", "--db", database, "--explainer", "token-list", "--explainer", "shuffled", "--simulator",
            "keyword", "--out", run,
        ])
        XCTAssertEqual(result.status, 1, result.stderr)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("neuronbench: error: ") }
        XCTAssertEqual(errors.count, 1, result.stderr)
        XCTAssertFalse(result.stderr.contains("Fatal error") || result.stderr.contains("Backtrace"), result.stderr)
        XCTAssertTrue(result.stderr.contains("No space left on device"), result.stderr)
        XCTAssertTrue(result.stderr.contains(run), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run), "nothing is put in place")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: disk.path), [],
            "the staging directory and the lock are gone, and with them the space they took")

        // A report and a merge that fill the disk leave nothing either (no temporary file, no -wal).
        let fine = directory.appendingPathComponent("R").path
        XCTAssertEqual(
            try runCLI([
                "evaluate", "--db", database, "--explainer", "token-list", "--simulator", "keyword", "--out", fine,
            ]).status, 0)
        let stale = disk.appendingPathComponent(".r.html.partial").path
        XCTAssertTrue(FileManager.default.createFile(atPath: stale, contents: Data("killed".utf8)))
        let report = try runCLI(["report", fine, "--out", disk.appendingPathComponent("r.html").path])
        XCTAssertEqual(report.status, 1, report.stderr)
        XCTAssertTrue(report.stderr.contains("r.html: cannot write the report"), report.stderr)
        let merge = try runCLI(["merge", database, "--out", disk.appendingPathComponent("m.db").path])
        XCTAssertEqual(merge.status, 1, merge.stderr)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: disk.path), [],
            "no report or merge leftovers, and the stale temporary file of a killed report is cleared")
    }

    private func shell(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try runProcess(URL(fileURLWithPath: executable), arguments)
        return (result.status, result.stdout + result.stderr)
    }
}
