import Foundation
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `evaluate` with the LLM plug-ins against Scripts/fake-openai-server.py on loopback.
final class LLMCLITests: XCTestCase {
    var server: FakeOpenAIServerProcess?
    var port: Int { server?.port ?? 0 }

    override func setUpWithError() throws { server = try FakeOpenAIServerProcess() }
    override func tearDown() { server?.stop() }

    func requests() throws -> Int {
        let data = try Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/stats")!)
        return (try JSONSerialization.jsonObject(with: data) as! [String: Any])["requests"] as! Int
    }

    func post(_ path: String, _ body: Any) throws {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { _, _, _ in done.signal() }.resume()
        done.wait()
    }

    func testEvaluateWithLLMPluginsCachesAndNeverWritesTheKey() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let secret = "sk-test-SECRET-\(UUID().uuidString)"
        let cache = directory.appendingPathComponent("cache/llm.sqlite").path
        func evaluate(_ out: String, extra: [String] = []) throws -> CLIResult {
            try runCLI(
                [
                    "evaluate", "--db", EvaluateCLITests.database, "--neurons", "0:0-2", "--explainer", "llm",
                    "--simulator", "llm",
                    "--llm-model", "fake", "--llm-base-url", "http://127.0.0.1:\(port)/v1", "--llm-cache", cache,
                    "--llm-price-in", "0.15", "--llm-price-out", "0.6", "--out",
                    directory.appendingPathComponent(out).path,
                ] + extra,
                environment: ["OPENAI_API_KEY": secret])
        }
        let first = try evaluate("first")
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("3 scored"), first.stderr)
        XCTAssertTrue(first.stderr.contains("LLM: "), first.stderr)
        XCTAssertTrue(first.stderr.contains("per neuron"), first.stderr)
        let afterFirst = try requests()
        XCTAssertGreaterThan(afterFirst, 3)

        let second = try evaluate("second")
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try requests(), afterFirst, "a re-run is answered from the cache: zero requests")
        XCTAssertTrue(second.stderr.contains("from the cache"), second.stderr)
        XCTAssertEqual(
            try String(contentsOf: directory.appendingPathComponent("first/scores.csv"), encoding: .utf8),
            try String(contentsOf: directory.appendingPathComponent("second/scores.csv"), encoding: .utf8))
        let usage = try String(contentsOf: directory.appendingPathComponent("first/llm-usage.csv"), encoding: .utf8)
        XCTAssertTrue(
            usage.hasPrefix("layer,neuron,calls,cached_calls,failed_calls,prompt_tokens,completion_tokens,cost_dollars")
        )

        // The key is in no file the run wrote: outputs, cache.
        let files = FileManager.default.enumerator(atPath: directory.path)!.compactMap { $0 as? String }
        XCTAssertGreaterThan(files.count, 8)
        for file in files {
            let path = directory.appendingPathComponent(file).path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertNil(data.range(of: Data(secret.utf8)), "\(file) contains the API key")
        }
        XCTAssertFalse(first.stderr.contains(secret) || first.stdout.contains(secret))

        let dry = try evaluate("dry", extra: ["--dry-run"])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertTrue(dry.stdout.contains("dry run: 3 neurons"), dry.stdout)
        XCTAssertTrue(dry.stdout.contains("LLM calls"), dry.stdout)
        XCTAssertEqual(try requests(), afterFirst, "a dry run calls nothing")
    }

    func testARunInWhichEveryCallFailsExitsNonZero() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        try post("/faults", Array(repeating: "401", count: 50))
        let result = try runCLI([
            "evaluate", "--db", EvaluateCLITests.database, "--neurons", "0:0-2", "--explainer", "llm", "--simulator",
            "keyword",
            "--llm-model", "fake", "--llm-base-url", "http://127.0.0.1:\(port)/v1", "--llm-cache", "",
            "--out", directory.appendingPathComponent("run").path,
        ])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("no unit could be scored"), result.stderr)
        // The run is a failure, so nothing is put in place; the message says why.
        XCTAssertTrue(
            result.stderr.contains(
                "explainer failed: http://127.0.0.1:\(port)/v1/chat/completions rejected the request (HTTP 401)"),
            result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("run").path))
        XCTAssertEqual(try requests(), 3, "401 is not retried")
    }

    /// detection:llm, fuzzing:llm and intruder:llm through evaluate: the dry run's call count is what a run makes; unusable
    /// replies are failed neurons with their reason (never scored), asked again on a re-run; the key is in no file.
    func testJudgeScorersOverTheAPI() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let secret = "sk-test-SECRET-\(UUID().uuidString)"
        let cache = directory.appendingPathComponent("llm.sqlite").path
        func evaluate(_ out: String, extra: [String] = []) throws -> CLIResult {
            try runCLI(
                [
                    "evaluate", "--db", EvaluateCLITests.database, "--neurons", "0:0-5", "--explainer", "token-list",
                    "--scorer", "detection:llm", "--scorer", "fuzzing:llm", "--scorer", "intruder:llm",
                    "--activation-threshold", "0.7",
                    "--llm-model", "fake", "--llm-base-url", "http://127.0.0.1:\(port)/v1", "--llm-cache", cache,
                    "--llm-retries", "1", "--out", directory.appendingPathComponent(out).path,
                ] + extra,
                environment: ["OPENAI_API_KEY": secret])
        }
        let dry = try evaluate("dry", extra: ["--dry-run"])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        let planned = try XCTUnwrap(
            dry.stdout.split(separator: " ").firstIndex(of: "LLM").map {
                Int(dry.stdout.split(separator: " ")[$0 - 1])!
            })
        XCTAssertEqual(try requests(), 0, "a dry run calls nothing")

        try post("/faults", ["429", "judge-short", "judge-range"])
        let first = try evaluate("first")
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(try requests(), planned + 1, "the dry run counted every call (one 429 retried)")
        let rows = parseCSV(
            try String(contentsOf: directory.appendingPathComponent("first/scores.csv"), encoding: .utf8))
        let header = rows[0]
        func column(_ name: String) -> Int { header.firstIndex(of: name)! }
        XCTAssertEqual(
            Set(rows.dropFirst().map { $0[column("scorer")] }),
            ["detection:llm(fake)", "fuzzing:llm(fake)", "intruder:llm(fake)"])
        let intruder = rows.dropFirst().filter { $0[column("scorer")] == "intruder:llm(fake)" }
        XCTAssertEqual(intruder.count, 6, "once per neuron")
        XCTAssertTrue(intruder.allSatisfy { $0[column("explainer")] == "-" && $0[column("status")] == "ok" })
        let failed = rows.dropFirst().filter { $0[column("status")] == "failed" }
        // The short and the out-of-range reply fail their neuron (both may be calls of the same one).
        XCTAssertTrue((1...2).contains(failed.count), "\(failed.count) failed rows")
        XCTAssertEqual(
            Set(
                failed.map {
                    $0[column("error")].contains("answers for 5 examples") || $0[column("error")].contains("not 0 or 1")
                }),
            [true])
        XCTAssertTrue(failed.allSatisfy { $0[column("balanced_accuracy")] == "NaN" }, "never scored")
        let ok = rows.dropFirst().filter { $0[column("status")] == "ok" && $0[column("auroc")] != "NaN" }
        XCTAssertFalse(ok.isEmpty, "log-probabilities give AUROC")

        let before = try requests()
        let second = try evaluate("second")
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try requests(), before + 2, "only the two unusable replies are asked again")
        XCTAssertTrue(second.stderr.contains("0 failed"), second.stderr)
        let third = try evaluate("third")
        XCTAssertEqual(third.status, 0, third.stderr)
        XCTAssertEqual(try requests(), before + 2, "a third run makes zero requests")

        let files = FileManager.default.enumerator(atPath: directory.path)!.compactMap { $0 as? String }
        for file in files {
            let path = directory.appendingPathComponent(file).path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            XCTAssertNil(try Data(contentsOf: URL(fileURLWithPath: path)).range(of: Data(secret.utf8)), file)
        }
    }

    func testTheServerOptionsAreCheckedAndReachTheRequest() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        func evaluate(_ extra: [String]) throws -> CLIResult {
            try runCLI(
                [
                    "evaluate", "--db", EvaluateCLITests.database, "--neurons", "0:0", "--explainer", "token-list",
                    "--simulator", "llm:json", "--llm-model", "fake", "--llm-base-url", "http://127.0.0.1:\(port)/v1",
                    "--llm-cache", "", "--out", directory.appendingPathComponent("run-\(UUID().uuidString)").path,
                ] + extra)
        }
        for (flag, value, message) in [
            ("--llm-structured-output", "grammar", "--llm-structured-output must be one of json-schema"),
            ("--llm-echo-alignment", "maybe", "--llm-echo-alignment must be check, aligned or shifted"),
            ("--llm-seed", "1.5", "--llm-seed must be a whole number or none"),
        ] {
            let refused = try evaluate([flag, value])
            XCTAssertEqual(refused.status, 64, refused.stderr)
            XCTAssertTrue(refused.stderr.contains(message), refused.stderr)
        }
        XCTAssertEqual(try requests(), 0)
        let plain = try evaluate(["--llm-seed", "none", "--llm-structured-output", "json-object"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let body =
            try JSONSerialization.jsonObject(
                with: try Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/last")!)) as? [String: Any]
        XCTAssertNil(body?["seed"], "--llm-seed none sends no seed")
        XCTAssertEqual((body?["response_format"] as? [String: Any])?["type"] as? String, "json_object")
        XCTAssertNil((body?["response_format"] as? [String: Any])?["schema"])
    }
}
