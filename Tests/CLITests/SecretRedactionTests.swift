import Foundation
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Secrets never reach disk or the terminal: not the API key a server echoes back in an error, not the user info
/// or credential query values of `--llm-base-url`.
final class SecretRedactionTests: XCTestCase {
    var server: FakeOpenAIServerProcess?
    override func setUpWithError() throws { server = try FakeOpenAIServerProcess() }
    override func tearDown() { server?.stop() }

    func testEchoedKeysAndURLCredentialsAreMaskedInEveryFileAndMessage() throws {
        let port = server!.port
        let directory = try TestSupport.temporaryDirectory(self)
        let key = "sk-test-KEY-\(UUID().uuidString)"
        let password = "PASSWORD-\(UUID().uuidString.prefix(8))"
        let querySecret = "QUERY-\(UUID().uuidString.prefix(8))"
        let secrets = [key, password, querySecret]
        // The first explainer call succeeds; every later one is rejected with the Authorization header quoted.
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/faults")!)
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: ["ok"] + Array(repeating: "echo-auth", count: 20))
        try post(request)

        let run = directory.appendingPathComponent("run").path
        let cache = directory.appendingPathComponent("cache.sqlite").path
        let result = try runCLI(
            [
                "evaluate", "--db", EvaluateCLITests.database, "--neurons", "0:0-2", "--explainer", "llm",
                "--simulator", "keyword", "--llm-model", "fake", "--llm-api-key-env", "NEURONBENCH_TEST_KEY",
                "--llm-base-url", "http://user:\(password)@127.0.0.1:\(port)/v1?api-key=\(querySecret)",
                "--llm-retries", "0", "--llm-cache", cache, "--out", run,
            ], environment: ["NEURONBENCH_TEST_KEY": key])
        XCTAssertEqual(result.status, 0, result.stderr)

        // The echo did happen, and was masked where it landed.
        let scores = try String(contentsOfFile: run + "/scores.csv", encoding: .utf8)
        XCTAssertTrue(scores.contains("Invalid credentials in header Authorization: Bearer ***"), scores)
        XCTAssertTrue(scores.contains("http://***@127.0.0.1:\(port)/v1/chat/completions?api-key=***"), scores)
        let manifest = try String(contentsOfFile: run + "/run.json", encoding: .utf8)
        XCTAssertTrue(manifest.contains("http://***@127.0.0.1:\(port)/v1?api-key=***"), manifest)

        var stored: [(String, Data)] = [("stdout", Data(result.stdout.utf8)), ("stderr", Data(result.stderr.utf8))]
        for name in try FileManager.default.contentsOfDirectory(atPath: run) {
            stored.append((name, try Data(contentsOf: URL(fileURLWithPath: run + "/" + name))))
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasPrefix("cache") {
            stored.append((name, try Data(contentsOf: directory.appendingPathComponent(name))))
        }
        XCTAssertGreaterThanOrEqual(stored.count, 7)
        for (name, data) in stored {
            for secret in secrets {
                XCTAssertNil(data.range(of: Data(secret.utf8)), "\(name) holds the secret \(secret)")
            }
        }
        // A failed run's message is masked too.
        try post(request)
        let failed = try runCLI(
            [
                "evaluate", "--db", EvaluateCLITests.database, "--neurons", "0:0", "--explainer", "llm",
                "--simulator", "keyword", "--llm-model", "fake", "--llm-api-key-env", "NEURONBENCH_TEST_KEY",
                "--llm-base-url", "http://127.0.0.1:\(port)/v1", "--llm-retries", "0", "--llm-cache", "",
                "--out", directory.appendingPathComponent("failed").path,
            ], environment: ["NEURONBENCH_TEST_KEY": key])
        XCTAssertEqual(failed.status, 1, failed.stderr)
        XCTAssertTrue(failed.stderr.contains("Authorization: Bearer ***"), failed.stderr)
        XCTAssertFalse(failed.stderr.contains(key), failed.stderr)
    }

    private func post(_ request: URLRequest) throws {
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { _, _, _ in done.signal() }.resume()
        done.wait()
    }
}
