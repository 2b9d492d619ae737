import ActivationStore
import GPT2
import XCTest

@testable import Precompute

final class MemoryBudgetTests: XCTestCase {
    static let small = GPT2Config(
        vocabularySize: 50_257, contextLength: 1_024, embeddingSize: 768, layerCount: 12, headCount: 12)
    static let xl = GPT2Config(
        vocabularySize: 50_257, contextLength: 1_024, embeddingSize: 1_600, layerCount: 48, headCount: 25)

    /// Loaded float32, the weights are the models' parameters at 4 bytes each: transformers' `GPT2Model`
    /// `num_parameters()` is 124,439,808 for GPT-2 small and 1,557,611,200 for GPT-2 XL (the published counts).
    func testFloat32WeightsAreFourBytesPerParameter() {
        XCTAssertEqual(MemoryBudget.weightBytes(Self.small, blocks: 12, precision: .float32), 4 * 124_439_808)
        XCTAssertEqual(MemoryBudget.weightBytes(Self.xl, blocks: 48, precision: .float32), 4 * 1_557_611_200)
        // bf16 packs the four projections per block (12 d² elements) at 2 bytes: 12 × 12 × 768² × 2 bytes less.
        XCTAssertEqual(
            MemoryBudget.weightBytes(Self.small, blocks: 12, precision: .float32)
                - MemoryBudget.weightBytes(Self.small, blocks: 12, precision: .bfloat16), 12 * 12 * 768 * 768 * 2)
        // Recording only layer 0 loads one block.
        XCTAssertEqual(
            MemoryBudget.weightBytes(Self.small, blocks: 1, precision: .float32),
            4 * (124_439_808 - 11 * (12 * 768 * 768 + 13 * 768)))
    }

    /// GPT-2 XL's 307,200 neurons with the default records: 307,200 × (190 × (128 + 40) + 1,024) bytes of samplers,
    /// 10.1 GB, plus 6.2 GB of float32 weights: within 80% of a 24 GB machine in one run.
    func testGPT2XLNeuronsFitInOneRunOnTwentyFourGigabytes() {
        let budget = MemoryBudget.forNeurons(
            layers: Array(0..<48), config: Self.xl, settings: PrecomputeSettings(), batch: 32, positions: 64)
        XCTAssertEqual(budget.samplerBytes, 307_200 * (190 * (2 * 64 + 40) + 1_024))
        XCTAssertEqual(budget.weightBytes, 4 * 1_557_611_200)
        XCTAssertLessThan(budget.totalBytes, Int(0.8 * 24e9))
        XCTAssertGreaterThan(budget.totalBytes, 16_000_000_000)
    }

    /// The split is the fewest runs of consecutive layers, each within the limit, each as long as it can be.
    func testLayerSplitIsGreedyAndEveryRunFits() throws {
        let settings = PrecomputeSettings(), layers = Array(0..<48)
        func budget(_ group: [Int]) -> Int {
            MemoryBudget.forNeurons(layers: group, config: Self.xl, settings: settings, batch: 32, positions: 64)
                .totalBytes
        }
        // A limit that is exactly layers 0–23's budget: the first run is 0–23.
        let limit = budget(Array(0...23))
        let split = try XCTUnwrap(
            MemoryBudget.layerSplit(
                layers, config: Self.xl, settings: settings, batch: 32, positions: 64, limit: limit))
        XCTAssertEqual(split.first, Array(0...23))
        XCTAssertEqual(split.flatMap { $0 }, layers)
        for (index, group) in split.enumerated() {
            XCTAssertLessThanOrEqual(budget(group), limit, "\(group) fits")
            if index + 1 < split.count {
                XCTAssertGreaterThan(budget(group + [split[index + 1][0]]), limit, "\(group) could not be longer")
            }
        }
        // Later runs hold the weights of every block before them, so they are shorter: 24–38 and 39–47 here
        // (hand-checked: samplers 211 MB per layer, each block's weights 123 MB).
        XCTAssertEqual(split.map { $0.layerListSpelling }, ["0-23", "24-38", "39-47"])
        // A limit below one layer alone: no split fits.
        XCTAssertNil(
            MemoryBudget.layerSplit(
                layers, config: Self.xl, settings: settings, batch: 32, positions: 64, limit: budget([0]) - 1))
        XCTAssertEqual([3, 5, 6].layerListSpelling, "3,5,6")
        XCTAssertEqual([7].layerListSpelling, "7")
    }
}
