import Foundation
import GPT2
import Support
import TestSupport
import XCTest

@testable import SAE

/// SAELens-format SAEs against sae-lens itself (Scripts/make-sae-fixtures.py): the hook vectors from neuronbench's
/// forward pass, encoded and decoded, equal sae-lens' on every latent and token; bad SAE directories are refused
/// with one line naming the file.
final class SAETests: XCTestCase {
    static let resources = TestSupport.repositoryRoot.appendingPathComponent("Tests/SAETests/Resources")
    static let checkpoint = TestSupport.repositoryRoot.appendingPathComponent(
        "Tests/GPT2Tests/Resources/checkpoints/gpt2-shaped")
    struct Inputs: Decodable { let cases: [[[Int]]] }

    /// The first sequence of the gpt2-shaped parity case, as the fixture script uses it.
    func tokens() throws -> [Int] {
        let url = TestSupport.repositoryRoot.appendingPathComponent(
            "Tests/GPT2Tests/Resources/parity/gpt2-shaped/inputs.json")
        return try JSONDecoder().decode(Inputs.self, from: Data(contentsOf: url)).cases[0][0]
    }

    func assertParity(
        _ name: String, centred: Bool, sae directory: URL? = nil, model checkpoint: URL = checkpoint,
        tokens given: [Int]? = nil, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let fixture = Self.resources.appendingPathComponent(name)
        let sae = try SparseAutoencoder(directory: (directory ?? fixture).path)
        XCTAssertEqual(sae.centering, centred, "centring follows cfg.json", file: file, line: line)
        let reference = try SafeTensorsFile(url: fixture.appendingPathComponent("reference.safetensors"))
        let model = try GPT2Model(directory: checkpoint)
        let tokens = try given ?? tokens()
        var hooked: [Float] = []
        try model.forward([tokens], hooks: [sae.config.hook]) { activations in
            try sae.check(width: activations.width)
            hooked = Array(activations.values)
        }
        func worst(_ a: [Float], _ b: [Float]) -> Float {
            XCTAssertEqual(a.count, b.count, file: file, line: line)
            return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
        }
        XCTAssertLessThanOrEqual(
            worst(hooked, try reference.floats("input")), 1e-4, "\(name): hook", file: file, line: line)
        let latents = sae.encode(hooked, rows: tokens.count)
        let expected = try reference.floats("latents")
        XCTAssertLessThanOrEqual(worst(latents, expected), 1e-4, "\(name): latents", file: file, line: line)
        XCTAssertEqual(
            latents.map { $0 != 0 }, expected.map { $0 != 0 }, "\(name): the same latents fire", file: file, line: line)
        XCTAssertGreaterThan(expected.filter { $0 != 0 }.count, 0, file: file, line: line)
        let rebuilt = sae.decode(latents, rows: tokens.count)
        XCTAssertLessThanOrEqual(
            worst(rebuilt, try reference.floats("reconstruction")), 1e-4, "\(name): decode", file: file, line: line)
    }

    func testStandardOnTheResidualStream() throws { try assertParity("standard-resid", centred: false) }
    func testTopKOnTheMLPOutput() throws { try assertParity("topk-mlp-out", centred: false) }
    func testJumpReLUWithoutDecoderBiasOnInput() throws { try assertParity("jumprelu-resid", centred: false) }
    func testCentredResidualAsCenterWritingWeightsNeeds() throws { try assertParity("standard-centred", centred: true) }
    func testTopKOnTheNeurons() throws { try assertParity("topk-neurons", centred: false) }

    /// The shipped demo SAE (Models/sotu-gpt2-sae, trained by Scripts/train-demo-sae.py) on the shipped demo model,
    /// over BOS and the first 64 tokens of the first held-out address, against transformers' hook vectors and
    /// sae-lens' own latents of the saved SAE. The fixture names the weights it was made from.
    func testTheDemoSAEOnTheDemoModelMatchesSAELens() throws {
        struct Excerpt: Decodable { let tokens: [Int] }
        let fixture = Self.resources.appendingPathComponent("demo-sae")
        let excerpt = try JSONDecoder().decode(
            Excerpt.self, from: Data(contentsOf: fixture.appendingPathComponent("inputs.json")))
        XCTAssertEqual(excerpt.tokens.count, 65)
        XCTAssertEqual(excerpt.tokens.first, 50256, "read after BOS, as its prepend_bos says")
        let directory = TestSupport.repositoryRoot.appendingPathComponent("Models/sotu-gpt2-sae")
        let reference = try SafeTensorsFile(url: fixture.appendingPathComponent("reference.safetensors"))
        XCTAssertEqual(
            reference.metadata["sae_weights_sha256"],
            try SHA256Hex.digest(ofFile: directory.appendingPathComponent("sae_weights.safetensors").path),
            "the fixture was made from the shipped weights")
        let sae = try SparseAutoencoder(directory: directory.path)
        XCTAssertEqual(sae.config.architecture, .topk)
        XCTAssertEqual(sae.config.hook.description, "blocks.2.hook_resid_pre")
        XCTAssertEqual(sae.config.prependBOS, true)
        try assertParity(
            "demo-sae", centred: false, sae: directory,
            model: TestSupport.repositoryRoot.appendingPathComponent("Models/sotu-gpt2"), tokens: excerpt.tokens)
    }

    func testCentringIsAppliedOnlyAsConfiguredOrOverridden() throws {
        let directory = Self.resources.appendingPathComponent("standard-centred").path
        let off = try SparseAutoencoder(directory: directory, centering: false)
        XCTAssertFalse(off.centering)
        let x: [Float] = (0..<64).map { Float($0) }
        XCTAssertEqual(off.input(x, rows: 1), x)
        let on = try SparseAutoencoder(directory: directory)
        let centred = on.input(x, rows: 1)
        XCTAssertEqual(centred.reduce(0, +) / 64, 0, accuracy: 1e-4)
        XCTAssertEqual(centred[0], -31.5, accuracy: 1e-5)
    }

    func testReconstructionStatistics() throws {
        let sae = try SparseAutoencoder(directory: Self.resources.appendingPathComponent("topk-mlp-out").path)
        let reference = try SafeTensorsFile(
            url: Self.resources.appendingPathComponent("topk-mlp-out/reference.safetensors"))
        let x = try reference.floats("input")
        let rows = x.count / 64
        let latents = sae.encode(x, rows: rows)
        let stats = sae.reconstruction(x, latents: latents, rows: rows)
        XCTAssertEqual(stats.l0, 5, "topk k=5 keeps 5 per token (all positive here)")
        // By hand: 1 − Σ(x − x̂)² / Σ(x − column mean)².
        let rebuilt = try reference.floats("reconstruction")
        var means = [Double](repeating: 0, count: 64)
        for r in 0..<rows { for j in 0..<64 { means[j] += Double(x[r * 64 + j]) / Double(rows) } }
        var residual = 0.0, total = 0.0
        for r in 0..<rows {
            for j in 0..<64 {
                residual += pow(Double(x[r * 64 + j] - rebuilt[r * 64 + j]), 2)
                total += pow(Double(x[r * 64 + j]) - means[j], 2)
            }
        }
        XCTAssertEqual(stats.varianceExplained, 1 - residual / total, accuracy: 1e-4)
    }

    /// A copy of a fixture SAE with its cfg.json edited, or a file removed.
    func variant(
        _ name: String = "standard-resid", edit: (inout [String: Any]) -> Void = { _ in }, remove: String? = nil
    )
        throws -> String
    {
        let source = Self.resources.appendingPathComponent(name)
        let directory = try TestSupport.temporaryDirectory(self).appendingPathComponent(name)
        try FileManager.default.copyItem(at: source, to: directory)
        let cfg = directory.appendingPathComponent("cfg.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: cfg)) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: cfg)
        if let remove { try FileManager.default.removeItem(at: directory.appendingPathComponent(remove)) }
        return directory.path
    }

    func testBadSAEDirectoriesAreRefusedWithTheFileAndTheProblem() throws {
        func refused(_ path: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try SparseAutoencoder(directory: path), file: file, line: line) { error in
                let message = error.localizedDescription
                XCTAssertFalse(message.contains("\n"), message, file: file, line: line)
                for fragment in fragments {
                    XCTAssertTrue(message.contains(fragment), "\(message) lacks \(fragment)", file: file, line: line)
                }
            }
        }
        refused(try variant(remove: "cfg.json"), ["cfg.json: not found"])
        refused(try variant(remove: "sae_weights.safetensors"), ["sae_weights.safetensors: not found"])
        refused(try variant { $0["architecture"] = "gated" }, ["cfg.json", "architecture \"gated\" is not supported"])
        refused(
            try variant { $0["normalize_activations"] = "layer_norm" },
            ["normalize_activations \"layer_norm\" is not supported"])
        refused(
            try variant { $0["d_sae"] = 97 },
            ["sae_weights.safetensors", "W_enc has shape [64, 96], cfg.json implies [64, 97]"])
        refused(try variant { $0["d_in"] = true }, ["\"d_in\" must be a positive integer"])
        refused(
            try variant {
                var metadata = $0["metadata"] as! [String: Any]
                metadata["hook_name"] = "blocks.1.attn.hook_z"
                $0["metadata"] = metadata
            }, ["hook \"blocks.1.attn.hook_z\" is not one neuronbench can tap"])
        refused(
            try variant {
                var metadata = $0["metadata"] as! [String: Any]
                metadata.removeValue(forKey: "hook_name")
                $0["metadata"] = metadata
            }, ["no metadata.hook_name"])
        refused(try variant("topk-mlp-out") { $0.removeValue(forKey: "k") }, ["\"k\" must be a positive integer"])
        XCTAssertNoThrow(try SparseAutoencoder(directory: try variant("jumprelu-resid")), "an unedited copy loads")
        // A pre-6.0 config: hook_point and activation_fn_str at the top level.
        let old = try variant {
            var metadata = $0["metadata"] as! [String: Any]
            $0["hook_point"] = metadata.removeValue(forKey: "hook_name")
            $0["metadata"] = metadata
            $0.removeValue(forKey: "architecture")
            $0["activation_fn_str"] = "relu"
        }
        let loaded = try SparseAutoencoder(directory: old)
        XCTAssertEqual(loaded.config.hook, HookPoint(layer: 1, site: .residPre))
        XCTAssertEqual(loaded.config.architecture, .standard)
        // d_in that does not match the hook's width.
        let neurons = try SparseAutoencoder(directory: Self.resources.appendingPathComponent("topk-neurons").path)
        XCTAssertThrowsError(try neurons.check(width: 64)) {
            XCTAssertTrue(
                $0.localizedDescription.contains("d_in is 256 but blocks.1.mlp.hook_post of this model has 64 values"),
                $0.localizedDescription)
        }
    }
}
