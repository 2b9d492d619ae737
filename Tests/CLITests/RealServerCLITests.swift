import Foundation
import TestSupport
import XCTest

/// `evaluate` with every LLM plug-in against llama-cpp-python's real server (Scripts/llm-server, the seeded random
/// test model), one request at a time: what is recorded, what the cache saves, what the ledger counts, and what
/// happens when the server dies mid-run. The server's access log counts the requests it really received.
final class RealServerCLITests: XCTestCase {
    nonisolated(unsafe) static var server: Result<RealLLMServer, Error>?
    nonisolated(unsafe) static var database = ""

    override class func setUp() {
        server = RealLLMServer.launch().flatMap { server in
            // 8-token excerpts: this server scores prompt positions slowly (~0.1 s each, in Python).
            database = server.directory.appendingPathComponent("short.db").path
            return Result {
                let precompute = try runCLI([
                    "precompute", "--model", "\(CLI.checkpoints)/f16-prefixed", "--tokenizer", CLI.tokenizer,
                    "--corpus", CLI.root.appendingPathComponent("Corpora/test-corpus").path, "--out", database,
                    "--excerpt-tokens", "8", "--pilot-excerpts", "60",
                ])
                guard precompute.status == 0 else {
                    server.discard()
                    throw NSError(
                        domain: "RealServerCLITests", code: 1,
                        userInfo: [NSLocalizedDescriptionKey: "precompute failed: \(precompute.stderr)"])
                }
                return server
            }
        }
    }

    override class func tearDown() { try? server?.get().discard() }
    func running() throws -> RealLLMServer { try XCTUnwrap(Self.server).get() }

    func arguments(_ server: RealLLMServer, cache: String, out: URL, plugins: [String], neurons: String) -> [String] {
        [
            "evaluate", "--db", Self.database, "--neurons", neurons, "--llm-model", server.model, "--llm-base-url",
            server.baseURL.absoluteString, "--llm-concurrency", "1", "--llm-timeout", "300", "--llm-retries", "0",
            "--llm-structured-output", "json-object-schema", "--llm-cache", cache, "--score-records", "1+1",
            "--calibration", "none", "--explain-records", "3", "--activating-examples", "5",
            "--non-activating-examples", "5", "--minimum-examples", "1", "--out", out.path,
        ] + plugins
    }

    func rows(_ run: URL) throws -> [[String: String]] {
        let table = try parseCSV(String(contentsOf: run.appendingPathComponent("scores.csv"), encoding: .utf8))
        return table.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(table[0], $0)) }
    }

    /// run.json's LLM usage: calls, cached_calls, failed_calls, prompt_tokens, completion_tokens, ….
    func manifestUsage(_ run: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: run.appendingPathComponent("run.json"))
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        // run.json's llm_* keys, without the prefix.
        return Dictionary(
            uniqueKeysWithValues: manifest.compactMap { key, value in
                key.hasPrefix("llm_") ? (String(key.dropFirst(4)), value) : nil
            })
    }

    func testRealServerEvaluateRecordsEveryPluginCachesAndCountsTheServersUsage() throws {
        let server = try running()
        let directory = try TestSupport.temporaryDirectory(self)
        let cache = directory.appendingPathComponent("cache.sqlite").path
        let plugins = [
            "--explainer", "llm", "--simulator", "llm:json", "--simulator", "llm:all-at-once", "--scorer",
            "detection:llm",
        ]
        let first = directory.appendingPathComponent("first")
        let before = server.requests
        let result = try runCLI(arguments(server, cache: cache, out: first, plugins: plugins, neurons: "0:0-1"))
        XCTAssertEqual(result.status, 0, result.stderr)
        let requests = server.requests - before
        // Every row is scored: the explanation is recorded, both simulators' replies and the judge's are read.
        let scored = try rows(first)
        XCTAssertEqual(scored.count, 6)
        for row in scored {
            XCTAssertEqual(row["status"], "ok", "\(row)")
            XCTAssertFalse(row["explanation"]?.isEmpty ?? true)
        }
        XCTAssertTrue(result.stderr.contains("all-at-once replies were read realigned"), result.stderr)

        // The ledger's calls are the requests the server logged; its tokens are the sum of the `usage` of the
        // replies the server sent (kept in the cache).
        let usage = try manifestUsage(first)
        XCTAssertEqual(usage["calls"] as? Int, requests)
        XCTAssertEqual(usage["cached_calls"] as? Int, 0)
        let sums = try runPython([
            "-c",
            """
            import json, sqlite3, sys
            rows = sqlite3.connect(sys.argv[1]).execute("SELECT reply FROM responses").fetchall()
            usage = [json.loads(bytes(r[0]))["usage"] for r in rows]
            print(len(rows), sum(u["prompt_tokens"] for u in usage), sum(u["completion_tokens"] for u in usage))
            """, cache,
        ])
        XCTAssertEqual(sums.status, 0, sums.stderr)
        XCTAssertEqual(
            sums.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            "\(requests) \(usage["prompt_tokens"] as? Int ?? -1) \(usage["completion_tokens"] as? Int ?? -1)")

        // The same run again: not one request reaches the server, and the tables are the same.
        let second = directory.appendingPathComponent("second")
        let again = try runCLI(arguments(server, cache: cache, out: second, plugins: plugins, neurons: "0:0-1"))
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(server.requests - before, requests, "the second run makes zero requests")
        XCTAssertEqual(try manifestUsage(second)["cached_calls"] as? Int, requests)
        XCTAssertEqual(
            try String(contentsOf: first.appendingPathComponent("scores.csv"), encoding: .utf8),
            try String(contentsOf: second.appendingPathComponent("scores.csv"), encoding: .utf8))
    }

    func testRealServerKilledMidRunFailsTheRestAndARerunCompletesFromTheCache() throws {
        let server = try running()
        let directory = try TestSupport.temporaryDirectory(self)
        let cache = directory.appendingPathComponent("cache.sqlite").path
        let plugins = ["--explainer", "llm", "--simulator", "llm:json"]
        let first = directory.appendingPathComponent("first")
        let before = server.requests
        let process = try CLIProcess(
            arguments(server, cache: cache, out: first, plugins: plugins, neurons: "0:0-5"), scratch: directory)
        let deadline = Date().addingTimeInterval(300)
        // Past the explanations (6) into the simulations (12): some units are scored, the rest must fail.
        while server.requests - before < 9 && process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        server.stop()
        let interrupted = try process.finish()
        let answered = server.requests - before
        XCTAssertGreaterThanOrEqual(answered, 9, interrupted.stderr)
        XCTAssertLessThan(answered, 18, "the server was stopped before the run's last request")
        // The requests after the kill are failures with the connection's reason, never scores.
        let rows = try rows(first)
        let failed = rows.filter { $0["status"] == "failed" }
        XCTAssertFalse(failed.isEmpty, "\(rows)")
        for row in failed {
            XCTAssertTrue(row["error"]?.contains("connection failed") ?? false, "\(row)")
            XCTAssertEqual(row["correlation"], "NaN")
        }
        let usage = try manifestUsage(first)
        let succeeded = (usage["calls"] as? Int ?? 0) - (usage["failed_calls"] as? Int ?? 0)
        XCTAssertGreaterThan(succeeded, 0)

        // Restarted on the same port (the cache keys include the URL), the re-run completes, asking only what failed.
        try server.start()
        let second = directory.appendingPathComponent("second")
        let beforeRerun = server.requests
        let rerun = try runCLI(arguments(server, cache: cache, out: second, plugins: plugins, neurons: "0:0-5"))
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertEqual(try self.rows(second).filter { $0["status"] != "ok" }, [])
        let rerunUsage = try manifestUsage(second)
        XCTAssertGreaterThanOrEqual(rerunUsage["cached_calls"] as? Int ?? 0, succeeded - 1)
        XCTAssertEqual(
            server.requests - beforeRerun,
            (rerunUsage["calls"] as? Int ?? 0) - (rerunUsage["cached_calls"] as? Int ?? 0),
            "only the requests that were not answered before")
    }
}
