import ActivationStore
import GPT2

/// The memory a precompute holds at its peak, checked before any work: the samplers (allocated up front, never per
/// token), the model's weights as loaded (blocks up to the last recorded layer), and the forward pass's buffers.
/// The memory-mapped checkpoint is not counted: its pages are the page cache's, reclaimable, and counted once in
/// peak RSS only as they are read (measured against peak RSS for GPT-2 small and XL in BENCHMARKS.md).
public struct MemoryBudget: Equatable, Sendable {
    public var samplerBytes: Int
    /// Model weights and SAE matrices.
    public var weightBytes: Int
    public var bufferBytes: Int

    public var totalBytes: Int { samplerBytes + weightBytes + bufferBytes }

    /// Float32 embeddings, layer norms (the final one included) and biases; the four projections per block in float32, or in bfloat16 when
    /// `precision` packs them (the float32 copy is dropped block by block).
    static func weightBytes(_ config: GPT2Config, blocks: Int, precision: MatrixPrecision) -> Int {
        let width = config.embeddingSize, inner = config.neuronCount
        let projections = width * 3 * width + width * width + 2 * width * inner
        let vectors = 3 * width + width + inner + width + 4 * width
        let perElement = precision == .bfloat16 ? 2 : 4
        let embeddings = (config.vocabularySize + config.contextLength) * width, finalNorm = 2 * width
        return 4 * (embeddings + finalNorm) + blocks * (perElement * projections + 4 * vectors)
    }

    /// One layer's working set of the forward pass, in float32: the residual stream and its normed copy, queries,
    /// keys and values, the attention output, and the MLP's pre- and post-activation rows.
    static func bufferBytes(_ config: GPT2Config, batch: Int, positions: Int) -> Int {
        4 * batch * positions * (8 * config.embeddingSize + 2 * config.neuronCount)
    }

    /// The budget of recording `units` units with the forward pass running `blocks` blocks, plus `saeBytes` of SAE
    /// matrices (float32 encoder and decoder).
    static func of(
        units: Int, blocks: Int, saeBytes: Int = 0, config: GPT2Config, settings: PrecomputeSettings, batch: Int,
        positions: Int
    ) -> MemoryBudget {
        MemoryBudget(
            samplerBytes: Precomputation.samplerBytes(settings, neurons: units),
            weightBytes: weightBytes(config, blocks: blocks, precision: settings.precision) + saeBytes,
            bufferBytes: bufferBytes(config, batch: batch, positions: positions))
    }

    /// The budget of recording the neurons of `layers`: the forward pass runs up to the last one.
    static func forNeurons(
        layers: [Int], config: GPT2Config, settings: PrecomputeSettings, batch: Int, positions: Int
    ) -> MemoryBudget {
        of(
            units: layers.count * config.neuronCount, blocks: (layers.max() ?? 0) + 1, config: config,
            settings: settings, batch: batch, positions: positions)
    }

    /// The fewest runs of consecutive layers that each fit in `limit`, greedily from the first layer (a later
    /// group needs the weights of every block before it); nil if even one layer alone does not fit.
    static func layerSplit(
        _ layers: [Int], config: GPT2Config, settings: PrecomputeSettings, batch: Int, positions: Int, limit: Int
    ) -> [[Int]]? {
        var groups: [[Int]] = [], current: [Int] = []
        func fits(_ group: [Int]) -> Bool {
            forNeurons(layers: group, config: config, settings: settings, batch: batch, positions: positions)
                .totalBytes <= limit
        }
        for layer in layers.sorted() {
            if fits(current + [layer]) {
                current.append(layer)
            } else {
                guard !current.isEmpty, fits([layer]) else { return nil }
                groups.append(current)
                current = [layer]
            }
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }
}

extension MemoryBudget: CustomStringConvertible {
    /// "about 16.4 GB (samplers 10.1 GB, weights 6.2 GB, buffers 210 MB)".
    public var description: String {
        "about \(PrecomputeError.bytes(totalBytes)) (samplers \(PrecomputeError.bytes(samplerBytes)), weights "
            + "\(PrecomputeError.bytes(weightBytes)), buffers \(PrecomputeError.bytes(bufferBytes)))"
    }
}

extension Array where Element == Int {
    /// "0-23" for consecutive layers, else "0,2,5": the spelling of a layer list on the command line.
    public var layerListSpelling: String {
        guard let first, let last else { return "" }
        return last - first + 1 == count && last > first ? "\(first)-\(last)" : map(String.init).joined(separator: ",")
    }
}
