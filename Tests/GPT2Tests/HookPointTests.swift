import Foundation
import TestSupport
import XCTest

@testable import GPT2

/// The forward pass's hook points against transformers' modules hooked on the same checkpoints and input
/// (Scripts/make-hook-fixtures.py writes parity/NAME/hooks.safetensors, on the first 16 tokens of each sequence of
/// the first parity case).
final class HookPointTests: XCTestCase {
    struct Inputs: Decodable { let cases: [[[Int]]] }

    func assertHookParity(
        _ name: String, model directory: URL? = nil, file: StaticString = #filePath, line: UInt = #line
    )
        throws
    {
        let model = try GPT2Model(directory: directory ?? Fixtures.checkpoint(name))
        let parity = Fixtures.resources.appendingPathComponent("parity/\(name)")
        let batch = try JSONDecoder().decode(
            Inputs.self, from: Data(contentsOf: parity.appendingPathComponent("inputs.json"))
        ).cases[0].map { Array($0.prefix(16)) }
        let expected = try SafeTensorsFile(url: parity.appendingPathComponent("hooks.safetensors"))
        let hooks = Set(
            (0..<model.config.layerCount).flatMap { layer in
                HookPoint.Site.allCases.map { HookPoint(layer: layer, site: $0) }
            })
        var seen: [HookPoint] = []
        try model.forward(batch, hooks: hooks) { hooked in
            seen.append(hooked.hook)
            let key = hooked.hook.description
            XCTAssertEqual(
                expected.tensors[key]?.shape, [hooked.batchSize, hooked.tokenCount, hooked.width], key, file: file,
                line: line)
            let reference = try expected.floats(key)
            XCTAssertEqual(reference.count, hooked.values.count, key, file: file, line: line)
            var worst: Float = 0
            for (a, b) in zip(hooked.values, reference) { worst = max(worst, abs(a - b)) }
            XCTAssertLessThanOrEqual(
                worst, 1e-4, "\(name) \(key): max |swift - transformers| = \(worst)", file: file, line: line)
        }
        XCTAssertEqual(seen, hooks.sorted(), "every hook once, in forward order", file: file, line: line)
    }

    func testGPT2ShapedShardedCheckpoint() throws { try assertHookParity("gpt2-shaped") }
    func testOddShapesWithInverseLayerScaling() throws { try assertHookParity("odd-shapes") }
    func testBF16Checkpoint() throws { try assertHookParity("bf16-odd") }
    func testF16CheckpointWithTransformerPrefix() throws { try assertHookParity("f16-prefixed") }
    func testShippedDemoModel() throws {
        try assertHookParity("sotu-gpt2", model: TestSupport.repositoryRoot.appendingPathComponent("Models/sotu-gpt2"))
    }

    func testNamesAndOrder() throws {
        XCTAssertEqual(HookPoint(name: "blocks.3.hook_resid_pre"), HookPoint(layer: 3, site: .residPre))
        XCTAssertEqual(HookPoint(name: "blocks.0.mlp.hook_post")?.site, .mlpPost)
        for bad in [
            "blocks.x.hook_resid_pre", "blocks.-1.hook_resid_pre", "blocks.2.hook_attn_out", "hook_resid_pre", "",
        ] {
            XCTAssertNil(HookPoint(name: bad), bad)
        }
        XCTAssertLessThan(HookPoint(layer: 0, site: .residPost), HookPoint(layer: 1, site: .residPre))
        XCTAssertLessThan(HookPoint(layer: 1, site: .residMid), HookPoint(layer: 1, site: .mlpPost))
        // The residual leaving a block is the one entering the next; asking for a hook past the model is refused.
        let model = try GPT2Model(directory: Fixtures.checkpoint("odd-shapes"))
        var post: [Float] = [], pre: [Float] = []
        try model.forward(
            [[1, 2, 3]], hooks: [HookPoint(layer: 0, site: .residPost), HookPoint(layer: 1, site: .residPre)]
        ) { hooked in
            if hooked.hook.site == .residPost { post = Array(hooked.values) } else { pre = Array(hooked.values) }
        }
        XCTAssertEqual(post, pre)
        XCTAssertThrowsError(try model.forward([[1]], hooks: [HookPoint(layer: 3, site: .residPre)]) { _ in }) {
            XCTAssertTrue($0.localizedDescription.contains("layer 3 is out of range"), $0.localizedDescription)
        }
    }
}
