import Foundation
import TestSupport
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Scripts/fake-openai-server.py on an ephemeral loopback port, started for a test and stopped after it.
final class FakeServer {
    let process = Process()
    let port: Int
    private var input: Pipe?
    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }

    init(_ testCase: XCTestCase) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestSupport.repositoryRoot.appendingPathComponent("Scripts/fake-openai-server.py").path]
        let output = Pipe(), input = Pipe()
        process.standardOutput = output
        // The server exits when this pipe closes, i.e. when the test process ends, whatever happens to the test.
        process.standardInput = input
        try process.run()
        // The first line is "PORT n".
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line += byte }
        guard let port = Int(String(decoding: line, as: UTF8.self).replacingOccurrences(of: "PORT ", with: "")) else {
            throw NSError(domain: "FakeServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "the fake server did not start: \(String(decoding: line, as: UTF8.self))"])
        }
        self.port = port
        self.input = input
        // SIGKILL directly: Foundation's terminate() and waitUntilExit() can do nothing or hang in an async test.
        let pid = process.processIdentifier
        testCase.addTeardownBlock {
            kill(pid, SIGKILL)
            try? input.fileHandleForWriting.close()
        }
    }

    private func call(_ path: String, _ body: Any? = nil) async throws -> [String: Any] {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        if let body {
            request.httpMethod = "POST"
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        let (data, _) = try await URLSession.shared.data(for: request)
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// Queues faults for the next requests: "429", "500", "hang", "truncated", "drop", "missing-token", "401", "404", "400", "ok".
    func inject(_ faults: [String]) async throws { _ = try await call("/faults", faults) }
    func setDelay(_ seconds: Double) async throws { _ = try await call("/config", ["delay": seconds]) }
    func reset() async throws { _ = try await call("/config", ["reset": true, "delay": 0.0]) }
    func stats() async throws -> (requests: Int, maxInFlight: Int, faultsLeft: Int) {
        let s = try await call("/stats")
        return (s["requests"] as! Int, s["max_in_flight"] as! Int, s["faults_left"] as! Int)
    }
}
