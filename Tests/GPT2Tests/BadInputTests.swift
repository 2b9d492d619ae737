import Foundation
import TestSupport
import XCTest

@testable import GPT2

/// Every malformed checkpoint or input gives a typed error whose message names the file or tensor and the problem.
final class BadInputTests: XCTestCase {
    /// A copy of the odd-shapes fixture checkpoint that a test may damage.
    func copyOfCheckpoint() throws -> URL {
        let directory = try TestSupport.temporaryDirectory(self).appendingPathComponent("model")
        try FileManager.default.copyItem(at: Fixtures.checkpoint("odd-shapes"), to: directory)
        return directory
    }

    func editConfig(_ directory: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = directory.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }

    /// Writes a safetensors file from (name, dtype, shape, raw bytes) entries.
    func writeSafetensors(_ url: URL, _ entries: [(String, String, [Int], [UInt8])]) throws {
        var header: [String: Any] = [:]
        var data: [UInt8] = []
        for (name, dtype, shape, bytes) in entries {
            header[name] = ["dtype": dtype, "shape": shape, "data_offsets": [data.count, data.count + bytes.count]]
            data += bytes
        }
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var file = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) }
        file += json
        file += data
        try Data(file).write(to: url)
    }

    /// Rewrites the checkpoint's model.safetensors as F32 with `transform` applied to its entry list.
    func rewriteWeights(
        _ directory: URL, _ transform: ([(String, String, [Int], [UInt8])]) -> [(String, String, [Int], [UInt8])]
    ) throws {
        let url = directory.appendingPathComponent("model.safetensors")
        let original = try SafeTensorsFile(url: url)
        let entries = try original.tensors.keys.sorted().map { name -> (String, String, [Int], [UInt8]) in
            let values = try original.floats(name)
            return (name, "F32", original.tensors[name]!.shape, values.withUnsafeBytes { Array($0) })
        }
        try writeSafetensors(url, transform(entries))
    }

    func testMissingConfig() throws {
        let directory = try copyOfCheckpoint()
        try FileManager.default.removeItem(at: directory.appendingPathComponent("config.json"))
        XCTAssertThrowsMessage(try GPT2Model(directory: directory), contains: ["config.json", "file not found"])
    }

    func testMissingDirectory() throws {
        let directory = try TestSupport.temporaryDirectory(self).appendingPathComponent("nowhere")
        XCTAssertThrowsMessage(try GPT2Model(directory: directory), contains: ["nowhere", "file not found"])
    }

    func testMissingWeights() throws {
        let directory = try copyOfCheckpoint()
        try FileManager.default.removeItem(at: directory.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsMessage(try GPT2Model(directory: directory), contains: ["model.safetensors", "file not found"])
    }

    func testMissingShardNamedByIndex() throws {
        let directory = try TestSupport.temporaryDirectory(self).appendingPathComponent("model")
        try FileManager.default.copyItem(at: Fixtures.checkpoint("gpt2-shaped"), to: directory)
        try FileManager.default.removeItem(at: directory.appendingPathComponent("model-00002-of-00003.safetensors"))
        XCTAssertThrowsMessage(
            try GPT2Model(directory: directory), contains: ["model-00002-of-00003.safetensors", "file not found"])
    }

    func testTruncatedSafetensors() throws {
        let directory = try copyOfCheckpoint()
        let url = directory.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
        XCTAssertThrowsMessage(
            try GPT2Model(directory: directory), contains: [url.path, "run past the end of the data", "truncated"])
        try data.prefix(5).write(to: url)
        XCTAssertThrowsMessage(try GPT2Model(directory: directory), contains: [url.path, "5 bytes", "too short"])
    }

    func testHeaderLengthPastTheEndOfTheFile() throws {
        let directory = try copyOfCheckpoint()
        let url = directory.appendingPathComponent("model.safetensors")
        var bytes = withUnsafeBytes(of: UInt64(1_000_000).littleEndian) { Array($0) }
        bytes += Array("{}".utf8)
        try Data(bytes).write(to: url)
        XCTAssertThrowsMessage(
            try GPT2Model(directory: directory),
            contains: [url.path, "header length 1000000", "past the end of the file"])
    }

    /// A shape whose element count overflows Int (2^32 · 2^32 · 4 bytes) is an error, not a trap or a wrapped
    /// product that happens to match the byte count (0).
    func testShapeWhoseSizeOverflowsIsRefused() throws {
        let directory = try copyOfCheckpoint()
        let url = directory.appendingPathComponent("model.safetensors")
        try writeSafetensors(url, [("wte.weight", "F32", [1 << 32, 1 << 32], [])])
        XCTAssertThrowsMessage(
            try SafeTensorsFile(url: url), contains: [url.path, "tensor 'wte.weight' has an impossible shape"])
    }

    func testMalformedHeaderJSON() throws {
        let directory = try copyOfCheckpoint()
        let url = directory.appendingPathComponent("model.safetensors")
        let json = Array("{\"wte.weight\": [not json".utf8)
        try Data(withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + json).write(to: url)
        XCTAssertThrowsMessage(try GPT2Model(directory: directory), contains: [url.path, "malformed header JSON"])
    }

    func testTensorShapeDisagreesWithConfig() throws {
        let directory = try copyOfCheckpoint()
        try editConfig(directory) { $0["n_inner"] = 100 }
        XCTAssertThrowsMessage(
            try GPT2Model(directory: directory),
            contains: ["model.safetensors", "'h.0.mlp.c_fc.weight'", "[48, 200]", "[48, 100]"])
    }

    func testMissingTensor() throws {
        let directory = try copyOfCheckpoint()
        try rewriteWeights(directory) { $0.filter { $0.0 != "h.1.ln_2.bias" } }
        XCTAssertThrowsMessage(try GPT2Model(directory: directory), contains: ["'h.1.ln_2.bias'", "missing"])
        // The rewritten file itself is fine: without the removal it loads (the test is not passing by accident).
        let intact = try copyOfCheckpoint()
        try rewriteWeights(intact) { $0 }
        XCTAssertNoThrow(try GPT2Model(directory: intact))
    }

    func testUnsupportedDType() throws {
        let directory = try copyOfCheckpoint()
        try rewriteWeights(directory) { entries in
            entries.map { entry in
                guard entry.0 == "h.0.ln_1.weight" else { return entry }
                let doubles = entry.3.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }.map { Double($0) }
                return (entry.0, "F64", entry.2, doubles.withUnsafeBytes { Array($0) })
            }
        }
        XCTAssertThrowsMessage(
            try GPT2Model(directory: directory), contains: ["'h.0.ln_1.weight'", "unsupported dtype F64"])
    }

    func testExtraTensorsAreIgnored() throws {
        let directory = try copyOfCheckpoint()
        try rewriteWeights(directory) {
            $0 + [("h.0.attn.bias", "U8", [2, 2], [1, 0, 1, 1]), ("lm_head.weight", "F32", [1], [0, 0, 128, 63])]
        }
        let model = try GPT2Model(directory: directory)
        let reference = try GPT2Model(directory: Fixtures.checkpoint("odd-shapes"))
        XCTAssertEqual(try model.mlpActivations([1, 2, 3]), try reference.mlpActivations([1, 2, 3]))
    }

    func testUnsupportedActivationFunction() throws {
        let directory = try copyOfCheckpoint()
        try editConfig(directory) { $0["activation_function"] = "relu" }
        XCTAssertThrowsMessage(
            try GPT2Model(directory: directory), contains: ["config.json", "activation_function \"relu\"", "gelu_new"])
    }

    func testInvalidConfigValues() throws {
        let directory = try copyOfCheckpoint()
        try editConfig(directory) { $0["n_head"] = 5 }
        XCTAssertThrowsMessage(
            try GPT2Model(directory: directory), contains: ["config.json", "n_embd 48 is not divisible by n_head 5"])
        try editConfig(directory) { $0["n_head"] = "three" }
        XCTAssertThrowsMessage(try GPT2Model(directory: directory), contains: ["config.json", "n_head"])
        try "{ nope".write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsMessage(try GPT2Model(directory: directory), contains: ["config.json", "invalid GPT-2 config"])
    }

    func testInputLongerThanContext() throws {
        let model = try GPT2Model(directory: Fixtures.checkpoint("odd-shapes"))
        XCTAssertThrowsMessage(
            try model.mlpActivations(Array(repeating: 1, count: 41)), contains: ["41 tokens", "n_positions", "40"])
    }

    func testTokenIDOutOfVocabulary() throws {
        let model = try GPT2Model(directory: Fixtures.checkpoint("odd-shapes"))
        XCTAssertThrowsMessage(
            try model.mlpActivations([3, 1000]), contains: ["token id 1000", "position 1", "vocab_size 1000"])
        XCTAssertThrowsMessage(try model.mlpActivations([-1]), contains: ["token id -1"])
    }

    func testLayerOutOfRangeAndRaggedBatch() throws {
        let model = try GPT2Model(directory: Fixtures.checkpoint("odd-shapes"))
        XCTAssertThrowsMessage(try model.mlpActivations([1], layers: [3]), contains: ["layer 3", "3 layers"])
        XCTAssertThrowsMessage(try model.forward([[1, 2], [3]]) { _ in }, contains: ["same length"])
        XCTAssertThrowsMessage(try model.mlpActivations([]), contains: ["no tokens"])
    }
}
