import Foundation
import TestSupport

/// Paths and a runner shared by the CLI tests: they run the built `neuronbench` as a user would.
enum CLI {
    static let root = TestSupport.repositoryRoot
    static let checkpoints = root.appendingPathComponent("Tests/GPT2Tests/Resources/checkpoints").path
    static let tokenizer = root.appendingPathComponent("Models/gpt2-tokenizer").path
    /// The built executable: the test bundle sits beside the products of the same build.
    static let executable = Bundle.main.bundleURL.appendingPathComponent("neuronbench")
}

struct CLIResult { let status: Int32; let stdout: String; let stderr: String }

/// Runs `neuronbench arguments…` to completion.
func runCLI(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws -> CLIResult {
    try runProcess(CLI.executable, arguments, environment: environment, in: directory)
}

/// Runs any program to completion, collecting its status, stdout and stderr.
func runProcess(
    _ executable: URL, _ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil
) throws -> CLIResult {
    let process = Process()
    process.executableURL = executable
    if let directory { process.currentDirectoryURL = directory }
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes concurrently so that neither can fill up and block the child.
    nonisolated(unsafe) var stderr = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        stderr = err.fileHandleForReading.readDataToEndOfFile(); group.leave()
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return CLIResult(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self))
}

/// Runs SQL statements on the database at `path` through Python's sqlite3 (an independent writer, for crafting
/// databases the way a user, a bug or an attacker could).
func sqlite(_ path: String, _ script: String) throws {
    try python(
        "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()", path, script)
}

/// Runs a Python script with `arguments`; throws if it fails.
func python(_ script: String, _ arguments: String...) throws {
    let result = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script] + arguments)
    guard result.status == 0 else {
        throw NSError(
            domain: "python", code: Int(result.status),
            userInfo: [NSLocalizedDescriptionKey: "python3 failed on \(arguments): \(result.stderr)"])
    }
}

/// Runs `python3 arguments…` (a script of the repository, or `-c CODE`) to completion.
func runPython(_ arguments: [String]) throws -> CLIResult {
    try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments)
}

/// Starts `neuronbench arguments…` without waiting; `finish` collects its result.
final class CLIProcess {
    private let process = Process()
    private let out: URL, err: URL

    init(_ arguments: [String], scratch: URL) throws {
        out = scratch.appendingPathComponent("\(UUID().uuidString).out")
        err = scratch.appendingPathComponent("\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.executableURL = CLI.executable
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    func kill() { Foundation.kill(process.processIdentifier, SIGKILL) }

    func finish() throws -> CLIResult {
        process.waitUntilExit()
        return CLIResult(
            status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8))
    }
}
