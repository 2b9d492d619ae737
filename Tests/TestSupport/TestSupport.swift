import Foundation
import XCTest

/// Helpers shared by every test target.
public enum TestSupport {
    /// The repository's root, found from this file's location: tests read committed fixtures in place.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A fresh temporary directory, removed when the test ends.
    public static func temporaryDirectory(_ testCase: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("neuronbench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

/// What a command printed (standard output and error, interleaved) and its exit status.
public struct ShellResult {
    public var status: Int32
    public var output: String
}

extension TestSupport {
    /// Runs `command` in bash with `environment` added, its output in a file; posix_spawn and waitpid directly:
    /// Foundation's `Process` was seen to miss the exit of a script that starts daemons (it waited for ever on a
    /// child that had become a zombie).
    public static func shell(_ command: String, _ environment: [String: String] = [:]) throws -> ShellResult {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("nb-shell-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0)=\($1)" }
        let arguments = ["/bin/bash", "-c", "exec >\"\(output.path)\" 2>&1 </dev/null; \(command)"]
        func cStrings(_ list: [String]) -> [UnsafeMutablePointer<CChar>?] { list.map { strdup($0) } + [nil] }
        let argv = cStrings(arguments), envp = cStrings(variables)
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, argv, envp)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        // Exit status as the shell reports it (WEXITSTATUS; 128 + signal when killed).
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return ShellResult(status: code, output: text)
    }
}

/// Asserts that `body` throws an error whose message contains every one of `fragments`.
public func XCTAssertThrowsMessage<T>(
    _ body: @autoclosure () throws -> T, contains fragments: [String],
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        _ = try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch {
        let message = error.localizedDescription
        for fragment in fragments where !message.contains(fragment) {
            XCTFail("error message \"\(message)\" does not contain \"\(fragment)\"", file: file, line: line)
        }
    }
}

/// Scripts/fake-openai-server.py on an ephemeral loopback port. It exits when `stop()` kills it or, whatever
/// happens, when the test process ends (its standard input closes), so it can never outlive the tests.
public final class FakeOpenAIServerProcess {
    public let port: Int
    private let process = Process()
    private let input = Pipe()

    public init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", TestSupport.repositoryRoot.appendingPathComponent("Scripts/fake-openai-server.py").path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        // The first line is "PORT n".
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line += byte
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).replacingOccurrences(of: "PORT ", with: "")) else {
            throw NSError(
                domain: "FakeOpenAIServer", code: 1,
                userInfo: [
                    NSLocalizedDescriptionKey: "the fake server did not start: \(String(decoding: line, as: UTF8.self))"
                ])
        }
        self.port = port
    }

    /// SIGKILL directly: Foundation's terminate() and waitUntilExit() can do nothing or hang in an async test.
    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        try? input.fileHandleForWriting.close()
    }
}

/// A real OpenAI-compatible server on loopback, started by Scripts/llm-server (which installs it when missing) and
/// serving the seeded random test model (Scripts/make-test-llm.py), in `directory`: llama-cpp-python's server, or
/// vLLM's.
public final class RealLLMServer: @unchecked Sendable {
    public enum Engine: String, Sendable {
        case llamaCpp = "llama-cpp"
        case vllm
    }

    public let directory: URL
    public let engine: Engine
    public private(set) var port = 0
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }
    /// The model's name in requests, and its checkpoint (for the reference).
    public let model = "test-llm"
    public var checkpoint: URL { directory.appendingPathComponent("test-llm") }
    /// The Python of the server's venv (numpy and safetensors, for Scripts/reference-next-token.py).
    public var python: String {
        let home = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/neuronbench").path
        let environment = ProcessInfo.processInfo.environment
        switch engine {
        case .llamaCpp: return (environment["NEURONBENCH_LLM_VENV"] ?? home + "/llm-server-venv") + "/bin/python"
        case .vllm: return (environment["NEURONBENCH_VLLM_VENV"] ?? home + "/vllm-venv") + "/bin/python"
        }
    }

    public init(directory: URL, engine: Engine = .llamaCpp) throws {
        self.directory = directory
        self.engine = engine
        try start()
    }

    /// A server in a fresh temporary directory, or why it did not start: a test class's `setUp()` cannot throw,
    /// so its tests throw the error instead (they fail; none is skipped).
    public static func launch(_ engine: Engine = .llamaCpp) -> Result<RealLLMServer, Error> {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "nb-\(engine.rawValue)-\(UUID().uuidString)")
        return Result { try RealLLMServer(directory: directory, engine: engine) }
    }

    /// Stops the server and removes its directory.
    public func discard() {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts the server (on the same port as before after a `stop()`).
    public func start() throws {
        let script = TestSupport.repositoryRoot.appendingPathComponent("Scripts/llm-server").path
        let result = try TestSupport.shell(
            "\(script) start --engine \(engine.rawValue) --dir '\(directory.path)'"
                + (port > 0 ? " --port \(port)" : ""))
        guard result.status == 0,
            let line = result.output.split(separator: "\n").last(where: { $0.hasPrefix("base URL ") }),
            let url = URL(string: String(line.dropFirst("base URL ".count))), let port = url.port
        else {
            throw NSError(
                domain: "RealLLMServer", code: Int(result.status),
                userInfo: [NSLocalizedDescriptionKey: "Scripts/llm-server start failed: \(result.output)"])
        }
        self.port = port
    }

    public func stop() {
        let script = TestSupport.repositoryRoot.appendingPathComponent("Scripts/llm-server").path
        _ = try? TestSupport.shell("\(script) stop --dir '\(directory.path)'")
    }

    /// API requests the server has received since it was first started (its access log, kept across restarts).
    public var requests: Int {
        let log = (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter { $0.contains("\"POST /v1/") }.count
    }

    /// The server's own token ids for `text` (llama-cpp-python: POST /extras/tokenize; vLLM: POST /tokenize).
    public func tokenize(_ text: String) throws -> [Int] {
        let (path, body): (String, [String: Any]) =
            engine == .llamaCpp ? ("extras/tokenize", ["input": text]) : ("tokenize", ["model": model, "prompt": text])
        let request = FileManager.default.temporaryDirectory.appendingPathComponent("nb-tok-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: request) }
        try JSONSerialization.data(withJSONObject: body).write(to: request)
        let result = try TestSupport.shell(
            "python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], "
                + "data=open(sys.argv[2], \"rb\").read(), headers={\"Content-Type\": \"application/json\"}), "
                + "timeout=60).read().decode())' http://127.0.0.1:\(port)/\(path) '\(request.path)'")
        guard result.status == 0,
            let object = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
            let tokens = object["tokens"] as? [Int]
        else {
            throw NSError(
                domain: "RealLLMServer", code: 1,
                userInfo: [NSLocalizedDescriptionKey: "POST /\(path) failed: \(result.output)"])
        }
        return tokens
    }
}
