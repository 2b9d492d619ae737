import Foundation
import TestSupport
import XCTest

/// `activations --sae` as a user runs it: the latents printed equal sae-lens' for the fixture SAEs, with L0 and
/// variance explained; a mismatched SAE is one line.
final class SAECLITests: XCTestCase {
    let checkpoint = CLI.root.appendingPathComponent("Tests/GPT2Tests/Resources/checkpoints/gpt2-shaped").path
    func sae(_ name: String) -> String { CLI.root.appendingPathComponent("Tests/SAETests/Resources/\(name)").path }

    /// The fixture's tokens and sae-lens' latents ([T, d_sae], flattened), parsed from the safetensors file here
    /// so that the test does not go through neuronbench's own reader.
    func reference(_ name: String) throws -> (ids: [Int], latents: [Float]) {
        let inputs =
            try JSONSerialization.jsonObject(
                with: Data(
                    contentsOf: CLI.root.appendingPathComponent(
                        "Tests/GPT2Tests/Resources/parity/gpt2-shaped/inputs.json")))
            as! [String: Any]
        let ids = ((inputs["cases"] as! [[[Int]]])[0][0])
        let data = try Data(contentsOf: URL(fileURLWithPath: sae(name) + "/reference.safetensors"))
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.load(as: UInt64.self) })
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        let offsets = (header["latents"] as! [String: Any])["data_offsets"] as! [Int]
        let bytes = data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
        let latents = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (ids, latents)
    }

    func testLatentsEqualSAELensAndReconstructionIsReported() throws {
        for (name, hook) in [
            ("standard-centred", "blocks.1.hook_resid_pre"), ("jumprelu-resid", "blocks.2.hook_resid_post"),
        ] {
            let (ids, expected) = try reference(name)
            let result = try runCLI([
                "activations", "--model", checkpoint, "--ids", ids.map(String.init).joined(separator: ","), "--sae",
                sae(name), "--json",
            ])
            XCTAssertEqual(result.status, 0, result.stderr)
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
            let rows = try XCTUnwrap((object["latents"] as? [String: [[Double]]])?[hook])
            XCTAssertEqual(rows.count, ids.count)
            let worst = zip(rows.flatMap { $0 }, expected).map { abs(Float($0) - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, 1e-4, name)
            let stats = try XCTUnwrap((object["reconstruction"] as? [String: [String: Any]])?[hook])
            let l0 = Double(expected.filter { $0 != 0 }.count) / Double(ids.count)
            XCTAssertEqual(stats["l0"] as? Double ?? -1, l0, accuracy: 1e-9)
            XCTAssertNotNil(stats["variance_explained"] as? Double)
            XCTAssertEqual(stats["centred"] as? Bool, name == "standard-centred")
        }
        // Centring off by hand: different latents (the SAE needs it), said in the summary line.
        let (ids, expected) = try reference("standard-centred")
        let off = try runCLI([
            "activations", "--model", checkpoint, "--ids", ids.map(String.init).joined(separator: ","), "--sae",
            sae("standard-centred"), "--sae-center", "off", "--json",
        ])
        XCTAssertEqual(off.status, 0, off.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(off.stdout.utf8)) as! [String: Any]
        let rows = try XCTUnwrap((object["latents"] as? [String: [[Double]]])?["blocks.1.hook_resid_pre"])
        XCTAssertGreaterThan(zip(rows.flatMap { $0 }, expected).map { abs(Float($0) - $1) }.max() ?? 0, 0.01)
        let text = try runCLI(["activations", "--model", checkpoint, "--ids", "1,2,3", "--sae", sae("topk-mlp-out")])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("blocks.0.hook_mlp_out/F"), text.stdout)
        XCTAssertTrue(text.stderr.contains("L0 5.0 latents per token, variance explained"), text.stderr)
    }

    func testAnSAEForAnotherModelIsOneLine() throws {
        let demo = CLI.root.appendingPathComponent("Models/sotu-gpt2").path
        let result = try runCLI(["activations", "--model", demo, "--ids", "1,2", "--sae", sae("topk-neurons")])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(
            result.stderr.contains("topk-neurons: d_in is 256 but blocks.1.mlp.hook_post of this model has"),
            result.stderr)
        // An SAE for a deeper model: its hook is past the last block.
        let deep = try TestSupport.temporaryDirectory(self).appendingPathComponent("deep")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: sae("standard-resid")), to: deep)
        let cfg = deep.appendingPathComponent("cfg.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: cfg)) as! [String: Any]
        var metadata = object["metadata"] as! [String: Any]
        metadata["hook_name"] = "blocks.9.hook_resid_pre"
        object["metadata"] = metadata
        try JSONSerialization.data(withJSONObject: object).write(to: cfg)
        let past = try runCLI(["activations", "--model", checkpoint, "--ids", "1", "--sae", deep.path])
        XCTAssertEqual(past.status, 1)
        XCTAssertTrue(
            past.stderr.contains("\(deep.path): it reads blocks.9.hook_resid_pre, but the model has 3 layers"),
            past.stderr)
        let missing = try runCLI(["activations", "--model", demo, "--ids", "1", "--sae", "/nonexistent/sae"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/sae/cfg.json: not found"), missing.stderr)
    }

    func testAnSAETrainedWithBOSWarnsWhenTheInputLacksIt() throws {
        let directory = try TestSupport.temporaryDirectory(self).appendingPathComponent("bos")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: sae("topk-mlp-out")), to: directory)
        let cfg = directory.appendingPathComponent("cfg.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: cfg)) as! [String: Any]
        var metadata = object["metadata"] as! [String: Any]
        metadata["prepend_bos"] = true
        object["metadata"] = metadata
        try JSONSerialization.data(withJSONObject: object).write(to: cfg)
        let without = try runCLI(["activations", "--model", checkpoint, "--ids", "1,2", "--sae", directory.path])
        XCTAssertEqual(without.status, 0, without.stderr)
        XCTAssertTrue(without.stderr.contains("start with <|endoftext|> (metadata.prepend_bos)"), without.stderr)
        // gpt2-shaped's vocabulary has 512 tokens, so 50256 cannot be given here: the warning is all this can check.
    }
}
