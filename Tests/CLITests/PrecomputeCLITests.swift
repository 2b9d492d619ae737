import Foundation
import TestSupport
import XCTest

/// `precompute`, `inspect` and the Python reader, run as separate processes; and resuming after `kill -9`.
final class PrecomputeCLITests: XCTestCase {
    static let root = CLI.root
    static let model = "\(CLI.checkpoints)/f16-prefixed"
    static let corpus = root.appendingPathComponent("Corpora/test-corpus").path

    func temporaryDirectory() throws -> URL { try TestSupport.temporaryDirectory(self) }

    func precomputeArguments(_ out: String, _ extra: [String] = []) -> [String] { Self.precomputeArguments(out, extra) }

    /// A small precompute of the test corpus; checkpoints after every batch.
    static func precomputeArguments(_ out: String, _ extra: [String] = []) -> [String] {
        [
            "precompute", "--model", Self.model, "--tokenizer", CLI.tokenizer, "--corpus", Self.corpus, "--out", out,
            "--pilot-excerpts", "40", "--top-k", "12", "--random-k", "9", "--quantile-k", "3", "--bottom-k", "5",
            "--batch", "1", "--checkpoint-seconds", "0",
        ] + extra
    }

    func tableDump(_ path: String, _ query: String) throws -> String { try Self.tableDump(path, query) }

    /// The rows of `query` on the database at `path`, read through Python's sqlite3 ("error" if it cannot be read).
    static func tableDump(_ path: String, _ query: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Read-only, through Python's sqlite3: an independent reader that cannot disturb the file.
        process.arguments = [
            "python3", "-c",
            "import sqlite3,sys; c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro', uri=True); print(repr(c.execute(sys.argv[2]).fetchall()))",
            path, query,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : "error"
    }

    /// Every record of the database at `path` as (layer, neuron, kind code, bucket, rank, excerpt id), decoded from
    /// the packed records blobs (Schemas/activations.md) by numpy, independently of the Swift reader.
    static func recordRows(_ path: String) throws -> [[Int]] {
        let script = """
            import sqlite3, sys, numpy as np
            record = np.dtype([("kind", "u1"), ("bucket", "u1"), ("rank", "<u2"), ("excerpt", "<u4"), ("max", "<f4"),
                               ("min", "<f4")])
            c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
            for layer, neuron, blob in c.execute("SELECT layer, neuron, records FROM neurons ORDER BY 1, 2"):
                for r in np.frombuffer(blob, dtype=record):
                    print(layer, neuron, r["kind"], r["bucket"], r["rank"], r["excerpt"])
            """
        let result = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, path])
        guard result.status == 0 else {
            throw NSError(
                domain: "python", code: Int(result.status),
                userInfo: [
                    NSLocalizedDescriptionKey: "python3 could not decode the records of \(path): \(result.stderr)"
                ])
        }
        return result.stdout.split(separator: "\n").map { $0.split(separator: " ").map { Int($0)! } }
    }

    func testKillNineAtAnyMomentThenResumeGivesTheUninterruptedRecords() throws {
        try assertKillNineThenResumeGivesTheUninterruptedRecords()
    }

    /// The same with long contexts (checkpoints fall between contexts, never inside one) and 2 contexts per batch.
    func testKillNineWithLongContextsThenResumeGivesTheUninterruptedRecords() throws {
        try assertKillNineThenResumeGivesTheUninterruptedRecords(
            [
                "--excerpt-tokens", "16", "--min-excerpt-tokens", "4", "--context-tokens", "64", "--max-tokens", "6000",
                "--batch", "2",
            ])
    }

    func assertKillNineThenResumeGivesTheUninterruptedRecords(_ extra: [String] = []) throws {
        let directory = try temporaryDirectory()
        let reference = directory.appendingPathComponent("reference.db").path
        let result = try runCLI(precomputeArguments(reference, extra))
        XCTAssertEqual(result.status, 0, result.stderr)

        let killed = directory.appendingPathComponent("killed.db").path
        // Kills at random moments, beside the known points of KillSwitchTests: how many land, and where, depends on
        // the machine's speed, so only the outcome is asserted.
        var kills = 0
        var delay = 0.15
        for attempt in 0..<40 {
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = precomputeArguments(killed, extra)
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                kills += 1
                // An interrupted database is never taken for a finished one: "complete" only when the kill came
                // after the final commit (while compacting or exiting), and then the tables are whole.
                // (Killed before the schema was written, the file is missing or empty: "error".)
                let status = try tableDump(killed, "SELECT value FROM metadata WHERE key = 'status'")
                if status.contains("complete") {
                    for query in Self.comparedQueries {
                        XCTAssertEqual(
                            try tableDump(killed, query), try tableDump(reference, query),
                            "complete after kill \(kills): \(query)")
                    }
                }
                delay += 0.1
            } else {
                process.waitUntilExit()
                XCTAssertEqual(process.terminationStatus, 0, "attempt \(attempt) failed")
                break
            }
        }
        for query in Self.comparedQueries {
            XCTAssertEqual(try tableDump(killed, query), try tableDump(reference, query), query)
        }
    }

    static let comparedQueries = [
        "SELECT * FROM neurons ORDER BY 1, 2",
        "SELECT * FROM excerpts ORDER BY 1", "SELECT count(*) FROM progress",
        "SELECT * FROM metadata WHERE key != 'summary' ORDER BY 1",
    ]

    /// `inspect --json` and Scripts/read-activations.py (Python's sqlite3, zlib and numpy, following
    /// Schemas/activations.md) read the same unit from the database at `db`.
    func assertInspectAgreesWithThePythonReader(
        _ db: String, unit: String, top: Int, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let swift = try runCLI(["inspect", "--db", db, "--neuron", unit, "--json"])
        XCTAssertEqual(swift.status, 0, swift.stderr)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Self.root.appendingPathComponent("Scripts/read-activations.py").path, db, unit,
        ]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let pythonData = out.fileHandleForReading.readDataToEndOfFile()
        let pythonErrors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(
            process.terminationStatus, 0, "Scripts/read-activations.py needs python3 with numpy: \(pythonErrors)")

        let a = try JSONSerialization.jsonObject(with: Data(swift.stdout.utf8)) as! [String: Any]
        let b = try JSONSerialization.jsonObject(with: pythonData) as! [String: Any]
        XCTAssertEqual(a["layer"] as? Int, Int(unit.split(separator: ":")[0]), file: file, line: line)
        let recordsA = a["records"] as! [String: Any], recordsB = b["records"] as! [String: Any]
        let topA = recordsA["top"] as! [[String: Any]], topB = recordsB["top"] as! [[String: Any]]
        XCTAssertEqual(topA.count, top, file: file, line: line)
        XCTAssertEqual(topA.count, topB.count)
        for (x, y) in zip(topA, topB) {
            XCTAssertEqual(x["excerpt_id"] as? Int, y["excerpt_id"] as? Int)
            XCTAssertEqual(x["tokens"] as? [String], y["tokens"] as? [String])
            XCTAssertEqual(x["ids"] as? [Int], y["ids"] as? [Int])
            XCTAssertEqual(x["activations"] as? [Double], y["activations"] as? [Double])
            XCTAssertEqual(x["max_activation"] as? Double, y["max_activation"] as? Double, file: file, line: line)
            XCTAssertEqual(x["min_activation"] as? Double, y["min_activation"] as? Double, file: file, line: line)
        }
        for kind in ["random", "bottom"] {
            XCTAssertEqual(
                (recordsA[kind] as! [[String: Any]]).map { $0["activations"] as! [Double] },
                (recordsB[kind] as! [[String: Any]]).map { $0["activations"] as! [Double] })
        }
        XCTAssertEqual(
            (recordsA["quantiles"] as! [[[String: Any]]]).map { $0.map { $0["excerpt_id"] as! Int } },
            (recordsB["quantiles"] as! [[[String: Any]]]).map { $0.map { $0["excerpt_id"] as! Int } }, file: file,
            line: line)
        let statsA = a["stats"] as! [String: Any], statsB = b["stats"] as! [String: Any]
        for key in ["token_count", "excerpt_count", "histogram", "excerpts_below_boundaries"] {
            XCTAssertEqual(statsA[key] as? NSObject, statsB[key] as? NSObject, key)
        }
        XCTAssertEqual(statsA["mean"] as! Double, statsB["mean"] as! Double, accuracy: 1e-12)

    }

    func testInspectJSONAndThePythonReaderAgree() throws {
        let directory = try temporaryDirectory()
        let db = directory.appendingPathComponent("run.db").path
        XCTAssertEqual(try runCLI(precomputeArguments(db)).status, 0)
        try assertInspectAgreesWithThePythonReader(db, unit: "1:7", top: 12)
        // A schema-version-2 file keeps its records as rows of a records table: both readers still read it.
        let v2 = Self.root.appendingPathComponent("Tests/PrecomputeTests/Resources/schema-v2.db").path
        try assertInspectAgreesWithThePythonReader(v2, unit: "1:3", top: 5)

        let text = try runCLI(["inspect", db, "--neuron", "1:7", "--records", "2"])  // the positional form still works
        XCTAssertEqual(text.status, 0)
        XCTAssertTrue(text.stdout.contains("top (by excerpt maximum)"))
        XCTAssertTrue(text.stdout.contains("[["), "strongest tokens are marked")
        let missing = try runCLI(["inspect", "--db", db, "--neuron", "5:0"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("no neuron 5:0"))
    }

    func testSummaryAndRefusals() throws {
        let directory = try temporaryDirectory()
        let db = directory.appendingPathComponent("run.db").path
        let first = try runCLI(precomputeArguments(db))
        XCTAssertEqual(first.status, 0)
        for fragment in [
            "16 documents", "1 empty documents", "3 invalid UTF-8 sequences replaced", "1 NUL bytes removed",
            "bytes of compressed activations per record", "quantile boundary error",
        ] {
            XCTAssertTrue(first.stderr.contains(fragment), "summary lacks \(fragment): \(first.stderr)")
        }
        let other = try runCLI(precomputeArguments(db).map { $0 == "12" ? "13" : $0 })
        XCTAssertEqual(other.status, 1)
        XCTAssertTrue(other.stderr.contains("other settings"), other.stderr)
        let missing = try runCLI([
            "precompute", "--model", Self.model, "--tokenizer", CLI.tokenizer,
            "--corpus", "/no/corpus", "--out", directory.appendingPathComponent("x.db").path,
        ])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("/no/corpus: corpus not found"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("x.db").path))

        // Memory is checked before any work: samplers of 2 layers × 32 neurons × 190 records × (64 float16 + 40 bytes)
        // ≈ 2 MB, plus the weights (the embeddings alone are 50,321 × 8 float32, 1.6 MB).
        let tooBig = try runCLI([
            "precompute", "--model", Self.model, "--tokenizer", CLI.tokenizer, "--corpus",
            CLI.root.appendingPathComponent("Corpora/test-corpus").path,
            "--out", directory.appendingPathComponent("y.db").path, "--max-memory-gb", "0.001",
        ])
        XCTAssertEqual(tooBig.status, 1)
        for fragment in [
            "this run would need about", "samplers 2 MB", "64 units × 190 records × 64 tokens",
            "more than the 1 MB allowed",
            "--layers",
        ] {
            XCTAssertTrue(tooBig.stderr.contains(fragment), "\(fragment) not in \(tooBig.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("y.db").path))
    }
}
