import Foundation
import TestSupport
import XCTest

/// `precompute --sae` as a user runs it: the summary names the source with dead, dense, L0 and variance explained;
/// `inspect` and the Python reader agree on a latent; kill -9 at every checkpoint resumes to the uninterrupted
/// records; and the schema-v1 fixture still reads through both readers.
final class LatentPrecomputeCLITests: XCTestCase {
    static let saes = CLI.root.appendingPathComponent("Tests/PrecomputeTests/Resources/saes").path

    /// A small latent precompute of the test corpus (no --bottom-k: latents keep none unless asked); checkpoints
    /// after every batch.
    static func arguments(_ out: String, _ extra: [String] = []) -> [String] {
        [
            "precompute", "--model", PrecomputeCLITests.model, "--tokenizer", CLI.tokenizer, "--corpus",
            PrecomputeCLITests.corpus, "--out", out, "--pilot-excerpts", "40", "--top-k", "12", "--random-k", "9",
            "--quantile-k", "3", "--checkpoint-seconds", "0", "--excerpt-tokens", "32", "--sae", "\(saes)/mlp-topk",
            "--sae", "\(saes)/resid-standard",
        ] + extra
    }

    func python(_ arguments: [String]) throws -> (status: Int32, stdout: Data, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, data, errors)
    }

    func testSummaryNamesTheSourceAndInspectAgreesWithThePythonReader() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let db = directory.appendingPathComponent("latents.db").path
        let result = try runCLI(Self.arguments(db, ["--batch", "16"]))
        XCTAssertEqual(result.status, 0, result.stderr)
        for fragment in [
            "units: SAE latents of blocks.0.mlp.hook_post (topk k=4, 40 latents); blocks.1.hook_resid_pre (standard, 48 latents), BOS prepended",
            "stored: 88 units", "dead (never > 0): ", "dense (> 0 on more than half of the tokens): ",
            "SAE of layer 0 over 11,840 tokens: L0 4.00, variance explained ",
            "SAE of layer 1 over 11,840 tokens: L0 ",
        ] {
            XCTAssertTrue(result.stderr.contains(fragment), "\(fragment) not in \(result.stderr)")
        }

        // A latent that fires now and then: its quantile buckets cover activating excerpts.
        let swift = try runCLI(["inspect", "--db", db, "--neuron", "1:3", "--json"])
        XCTAssertEqual(swift.status, 0, swift.stderr)
        let reader = try python([CLI.root.appendingPathComponent("Scripts/read-activations.py").path, db, "1:3"])
        XCTAssertEqual(reader.status, 0, reader.stderr)
        let a = try JSONSerialization.jsonObject(with: Data(swift.stdout.utf8)) as! [String: Any]
        let b = try JSONSerialization.jsonObject(with: reader.stdout) as! [String: Any]
        for key in ["source", "hook"] { XCTAssertEqual(a[key] as? String, b[key] as? String, key) }
        XCTAssertEqual(a["source"] as? String, "sae_latents")
        XCTAssertEqual(a["hook"] as? String, "blocks.1.hook_resid_pre")
        let statsA = a["stats"] as! [String: Any], statsB = b["stats"] as! [String: Any]
        for key in ["active_excerpt_count", "quantile_population", "excerpts_below_boundaries", "token_count"] {
            XCTAssertEqual(statsA[key] as? NSObject, statsB[key] as? NSObject, key)
        }
        XCTAssertEqual(statsA["quantile_population"] as? String, "activating")
        let recordsA = a["records"] as! [String: Any], recordsB = b["records"] as! [String: Any]
        XCTAssertEqual(
            (recordsA["top"] as! [[String: Any]]).map { $0["activations"] as! [Double] },
            (recordsB["top"] as! [[String: Any]]).map { $0["activations"] as! [Double] })
        XCTAssertTrue((recordsA["bottom"] as! [[String: Any]]).isEmpty, "no bottom records for latents by default")
        let asked = directory.appendingPathComponent("bottom.db").path
        XCTAssertEqual(try runCLI(Self.arguments(asked, ["--bottom-k", "4"])).status, 0)
        let withBottom = try runCLI(["inspect", "--db", asked, "--neuron", "1:3", "--json"])
        let bottom =
            ((try JSONSerialization.jsonObject(with: Data(withBottom.stdout.utf8)) as! [String: Any])["records"]
            as! [String: Any])["bottom"] as! [[String: Any]]
        XCTAssertEqual(bottom.count, 4, "kept when asked")

        let text = try runCLI(["inspect", "--db", db, "--neuron", "1:3", "--records", "1"])
        XCTAssertEqual(text.status, 0, text.stderr)
        for fragment in [
            "latent 1:3 of blocks.1.hook_resid_pre (standard, 48 latents), BOS prepended",
            "the layer's SAE over this database's tokens: L0 ", "firing frequency (fraction of tokens > 0): ",
            "of activating excerpts (max > 0)",
        ] {
            XCTAssertTrue(text.stdout.contains(fragment), "\(fragment) not in \(text.stdout)")
        }
    }

    func testKilledAtEveryCheckpointALatentRunResumesToTheUninterruptedRecords() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let reference = directory.appendingPathComponent("reference.db").path
        XCTAssertEqual(try runCLI(Self.arguments(reference, ["--batch", "32"])).status, 0)
        let killed = directory.appendingPathComponent("killed.db").path
        var kills = 0
        while kills < 100 {
            let result = try runCLI(
                Self.arguments(killed, ["--batch", "32"]), environment: ["NEURONBENCH_KILL_AFTER_COMMIT": "2"])
            if result.status == 0 { break }
            XCTAssertEqual(result.status, SIGKILL, result.stderr)
            kills += 1
        }
        XCTAssertGreaterThan(kills, 3, "tokenize, pilot and at least two checkpoints are each a kill point")
        for sql in PrecomputeCLITests.comparedQueries + ["SELECT value FROM metadata WHERE key = 'summary'"] {
            XCTAssertEqual(
                try PrecomputeCLITests.tableDump(killed, sql), try PrecomputeCLITests.tableDump(reference, sql), sql)
        }
        // A checkpoint holds the SAEs' reconstruction totals beside the samplers.
        let partial = directory.appendingPathComponent("partial.db").path
        let stopped = try runCLI(
            Self.arguments(partial, ["--batch", "32"]), environment: ["NEURONBENCH_KILL_AFTER_COMMIT": "4"])
        XCTAssertEqual(stopped.status, SIGKILL)
        XCTAssertEqual(
            try PrecomputeCLITests.tableDump(partial, "SELECT key FROM progress ORDER BY 1"),
            "[('next_excerpt',), ('pilot',), ('reconstruction',), ('state.0',), ('state.1',), ('tokenized',)]\n")
    }

    func testTheSchemaVersionOneFixtureReadsThroughBothReaders() throws {
        let v1 = CLI.root.appendingPathComponent("Tests/PrecomputeTests/Resources/schema-v1.db").path
        let swift = try runCLI(["inspect", "--db", v1, "--neuron", "1:3", "--json"])
        XCTAssertEqual(swift.status, 0, swift.stderr)
        let reader = try python([CLI.root.appendingPathComponent("Scripts/read-activations.py").path, v1, "1:3"])
        XCTAssertEqual(reader.status, 0, reader.stderr)
        let a = try JSONSerialization.jsonObject(with: Data(swift.stdout.utf8)) as! [String: Any]
        let b = try JSONSerialization.jsonObject(with: reader.stdout) as! [String: Any]
        XCTAssertEqual(a["source"] as? String, "neurons")
        XCTAssertEqual(b["source"] as? String, "neurons")
        let statsA = a["stats"] as! [String: Any], statsB = b["stats"] as! [String: Any]
        XCTAssertTrue(statsA["active_excerpt_count"] is NSNull || statsA["active_excerpt_count"] == nil)
        XCTAssertTrue(statsB["active_excerpt_count"] is NSNull)
        XCTAssertEqual(statsA["quantile_population"] as? String, "all")
        XCTAssertEqual(statsB["quantile_population"] as? String, "all")
        let recordsA = a["records"] as! [String: Any], recordsB = b["records"] as! [String: Any]
        for kind in ["top", "random", "bottom"] {
            XCTAssertEqual(
                (recordsA[kind] as! [[String: Any]]).map { $0["activations"] as! [Double] },
                (recordsB[kind] as! [[String: Any]]).map { $0["activations"] as! [Double] }, kind)
        }
        let text = try runCLI(["inspect", "--db", v1, "--neuron", "1:3"])
        XCTAssertTrue(text.stdout.contains("neuron 1:3 of blocks.1.mlp.hook_post"), text.stdout)
    }
}
