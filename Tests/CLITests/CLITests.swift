import Foundation
import TestSupport
import XCTest

/// Runs the built `neuronbench` executable as a user would and checks its output, exit status and messages.
final class CLITests: XCTestCase {
    func testTokenizeJSON() throws {
        let result = try runCLI([
            "tokenize", "--model", "\(CLI.checkpoints)/f16-prefixed", "--tokenizer", CLI.tokenizer,
            "--json", "Hello world",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(object["ids"] as? [Int], [15496, 995])
        XCTAssertEqual(object["tokens"] as? [String], ["Hello", " world"])
    }

    func testActivationsJSONMatchesTransformers() throws {
        // inputs.json case 2 of odd-shapes is the single token [999]; compare with the reference's values.
        let result = try runCLI([
            "activations", "--model", "\(CLI.checkpoints)/odd-shapes", "--ids", "999", "--layer", "1", "--json",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(object["ids"] as? [Int], [999])
        let layers = object["layers"] as! [String: [[Double]]]
        XCTAssertEqual(Array(layers.keys), ["1"])
        XCTAssertEqual(layers["1"]?.count, 1)
        XCTAssertEqual(layers["1"]?[0].count, 200)
        let expected = try referenceValues(checkpoint: "odd-shapes", key: "case2.layer1")
        let worst = zip(layers["1"]![0], expected).map { abs($0 - Double($1)) }.max()!
        XCTAssertLessThanOrEqual(worst, 1e-4)
    }

    /// `--precision bf16` runs (on CPUs with AVX-512) within bf16's error of the reference, and an unknown
    /// precision is refused with the choices named.
    func testActivationsPrecisionOption() throws {
        let bad = try runCLI([
            "activations", "--model", "\(CLI.checkpoints)/odd-shapes", "--ids", "999", "--precision", "fp8",
        ])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--precision must be one of fp32, bf16, not \"fp8\""), bad.stderr)
        let result = try runCLI([
            "activations", "--model", "\(CLI.checkpoints)/odd-shapes", "--ids", "999", "--layer", "1",
            "--json", "--precision", "bf16",
        ])
        guard result.status == 0 else {
            XCTAssertTrue(result.stderr.contains("precision bf16 is not available"), result.stderr)
            throw XCTSkip("this CPU has no AVX-512")
        }
        let layers = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["layers"]
                as? [String: [[Double]]])
        let expected = try referenceValues(checkpoint: "odd-shapes", key: "case2.layer1")
        let worst = zip(layers["1"]![0], expected).map { abs($0 - Double($1)) }.max()!
        XCTAssertLessThanOrEqual(worst, 2e-2)
        XCTAssertGreaterThan(worst, 1e-4, "bf16 differs from float32 by more than float32's error")
    }

    /// `--blas`: an unknown library is refused with the choices named; `--blas mkl` where oneMKL cannot be loaded
    /// stops before anything is written, with one line naming what was tried; where it can, the activations match
    /// transformers' with float32's tolerance.
    func testBLASOption() throws {
        let model = "\(CLI.checkpoints)/odd-shapes"
        let bad = try runCLI(["activations", "--model", model, "--ids", "999", "--blas", "atlas"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--blas must be one of openblas, mkl, not \"atlas\""), bad.stderr)

        let directory = try TestSupport.temporaryDirectory(self)
        let out = directory.appendingPathComponent("mkl.db").path
        let missing = try runCLI(
            [
                "precompute", "--model", model, "--tokenizer", CLI.tokenizer, "--corpus",
                CLI.root.appendingPathComponent("Corpora/test-corpus").path, "--out", out, "--blas", "mkl",
            ], environment: ["NEURONBENCH_MKL": "/nonexistent/libmkl_rt.so.3"])
        XCTAssertEqual(missing.status, 1, missing.stderr)
        XCTAssertTrue(
            missing.stderr.contains(
                "error: --blas mkl is not available: NEURONBENCH_MKL=/nonexistent/libmkl_rt.so.3 does not load"),
            missing.stderr)
        XCTAssertEqual(missing.stderr.split(separator: "\n").filter { $0.contains("error") }.count, 1, missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written")

        let result = try runCLI([
            "activations", "--model", model, "--ids", "999", "--layer", "1", "--json", "--blas", "mkl",
        ])
        guard result.status == 0 else {
            XCTAssertTrue(result.stderr.contains("--blas mkl is not available"), result.stderr)
            if ProcessInfo.processInfo.environment["NEURONBENCH_MKL"] != nil { XCTFail(result.stderr) }
            throw XCTSkip("oneMKL is not installed here")
        }
        let layers = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["layers"]
                as? [String: [[Double]]])
        let expected = try referenceValues(checkpoint: "odd-shapes", key: "case2.layer1")
        XCTAssertLessThanOrEqual(zip(layers["1"]![0], expected).map { abs($0 - Double($1)) }.max()!, 1e-4)
    }

    func testActivationsOfTextListAllLayers() throws {
        let result = try runCLI([
            "activations", "--model", "\(CLI.checkpoints)/f16-prefixed", "--tokenizer", CLI.tokenizer,
            "--json", "Hello world",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(object["tokens"] as? [String], ["Hello", " world"])
        let layers = object["layers"] as! [String: [[Double]]]
        XCTAssertEqual(layers.keys.sorted(), ["0", "1"])
        // case0 of f16-prefixed is the batch ["Hello world", "The quick"]: sequence 0 is this text.
        let expected = try referenceValues(checkpoint: "f16-prefixed", key: "case0.layer1")
        let worst = zip(layers["1"]!.flatMap { $0 }, expected.prefix(2 * 32)).map { abs($0 - Double($1)) }.max()!
        XCTAssertLessThanOrEqual(worst, 1e-4)
    }

    func testErrorsAreOneLineWithNonZeroExit() throws {
        let cases: [([String], String)] = [
            (["activations", "--model", "/no/such/model", "--ids", "1"], "/no/such/model"),
            (["activations", "--model", "\(CLI.checkpoints)/odd-shapes", "--ids", "1,1000"], "token id 1000"),
            (
                [
                    "activations", "--model", "\(CLI.checkpoints)/odd-shapes", "--ids",
                    Array(repeating: "1", count: 41).joined(separator: ","),
                ], "41 tokens"
            ),
            (["activations", "--model", "\(CLI.checkpoints)/odd-shapes", "--ids", "1", "--layer", "7"], "layer 7"),
            (["tokenize", "--model", "\(CLI.checkpoints)/odd-shapes", "--json", "hi"], "vocab.json: file not found"),
        ]
        for (arguments, fragment) in cases {
            let result = try runCLI(arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(result.stderr.contains("neuronbench: error: "), result.stderr)
            XCTAssertTrue(result.stderr.contains(fragment), "\(result.stderr) lacks \(fragment)")
            XCTAssertFalse(result.stderr.contains("Fatal error") || result.stderr.contains("Stack dump"), result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertEqual(result.stdout, "")
        }
    }

    /// Reads float32 tensor `key` of a parity fixture (a minimal safetensors reader, independent of the GPT2 module).
    func referenceValues(checkpoint: String, key: String) throws -> [Float] {
        let url = CLI.root.appendingPathComponent(
            "Tests/GPT2Tests/Resources/parity/\(checkpoint)/activations.safetensors")
        let data = try Data(contentsOf: url)
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        let entry = header[key] as! [String: Any]
        let offsets = entry["data_offsets"] as! [Int]
        let bytes = data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}
