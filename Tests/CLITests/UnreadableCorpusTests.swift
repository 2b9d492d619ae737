import Foundation
import TestSupport
import XCTest

/// A corpus folder that cannot be listed is an error naming the folder, never a silent gap in a database marked
/// complete. Permissions do not stop root, so as root (CI) the precompute runs as the unprivileged user nobody
/// (`setpriv`); as another user it runs directly.
final class UnreadableCorpusTests: XCTestCase {
    func testAnUnreadableSubfolderIsAnErrorNamingIt() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
        let corpus = directory.appendingPathComponent("corpus")
        let readable = corpus.appendingPathComponent("a"), hidden = corpus.appendingPathComponent("b")
        for folder in [readable, hidden] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for name in ["prose-00.txt", "prose-01.txt"] {
                try FileManager.default.copyItem(
                    atPath: PrecomputeCLITests.corpus + "/" + name, toPath: folder.appendingPathComponent(name).path)
            }
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: corpus.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: readable.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: hidden.path)
        addTeardownBlock {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hidden.path)
        }

        let probe = try runUnprivileged(["--version"])
        if probe.status != 0 {
            throw XCTSkip(
                "the user nobody cannot run \(CLI.executable.path) here (a private parent folder?): \(probe.stderr)")
        }
        let database = directory.appendingPathComponent("a.db").path
        var arguments = PrecomputeCLITests.precomputeArguments(database)
        arguments[arguments.firstIndex(of: "--corpus")! + 1] = corpus.path
        let result = try runUnprivileged(arguments)
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("\(hidden.path): cannot read corpus"), result.stderr)
        XCTAssertTrue(result.stderr.contains("Permission denied"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: database), "nothing is written for a partial corpus")

        // Readable again, the same run goes through: the refusal was about the folder, nothing else.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hidden.path)
        let made = try runUnprivileged(arguments)
        XCTAssertEqual(made.status, 0, made.stderr)
        XCTAssertEqual(try PrecomputeCLITests.tableDump(database, "SELECT count(*) FROM documents"), "[(4,)]\n")
    }

    /// `neuronbench arguments…` as nobody when this process is root, as this user otherwise.
    private func runUnprivileged(_ arguments: [String]) throws -> CLIResult {
        guard getuid() == 0 else { return try runCLI(arguments) }
        return try runProcess(
            URL(fileURLWithPath: "/usr/bin/setpriv"),
            ["--reuid=65534", "--regid=65534", "--clear-groups", CLI.executable.path] + arguments)
    }
}
