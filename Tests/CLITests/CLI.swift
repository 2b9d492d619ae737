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
func runCLI(_ arguments: [String], environment: [String: String] = [:]) throws -> CLIResult {
    let process = Process()
    process.executableURL = CLI.executable
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
