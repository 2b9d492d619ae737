import Foundation
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The fake server for one test, with its control endpoints.
final class FakeServer {
    let port: Int
    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }

    init(_ testCase: XCTestCase) throws {
        let server = try FakeOpenAIServerProcess()
        port = server.port
        testCase.addTeardownBlock { server.stop() }
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
    /// The body of the last API request the server received.
    func lastRequest() async throws -> [String: Any] { try await call("/last") }
    func stats() async throws -> (requests: Int, maxInFlight: Int, faultsLeft: Int) {
        let s = try await call("/stats")
        return (s["requests"] as! Int, s["max_in_flight"] as! Int, s["faults_left"] as! Int)
    }
}
