import ActivationStore
import Support

/// One layer's samplers over `parts` disjoint neuron ranges, updated in parallel on all cores. The result is
/// identical to one sampler over every neuron (each neuron's state depends only on its own values); the number
/// of parts is fixed, not taken from the machine, so checkpoints resume anywhere.
public struct LayerSampler: Sendable {
    static let parts = 8
    private(set) var samplers: [NeuronRangeSampler]
    public let neuronCount: Int

    public init(
        layer: Int, neuronCount: Int, maxTokens: Int, sizes: SampleSizes, seed: UInt64, histogramBins: Int,
        pilot: PilotEstimates
    ) {
        self.neuronCount = neuronCount
        let parts = Swift.max(1, Swift.min(Self.parts, neuronCount))
        let buckets = QuantileBuckets.count
        samplers = (0..<parts).map { part in
            let range = (part * neuronCount / parts)..<((part + 1) * neuronCount / parts)
            let slice = PilotEstimates(
                boundaries: Array(pilot.boundaries[(buckets * range.lowerBound)..<(buckets * range.upperBound)]),
                histogramLow: Array(pilot.histogramLow[range]), histogramHigh: Array(pilot.histogramHigh[range]),
                activatingOnly: Array(pilot.activatingOnly[range]))
            return NeuronRangeSampler(
                layer: layer, neurons: range, rowLength: neuronCount, maxTokens: maxTokens, sizes: sizes,
                seed: seed, histogramBins: histogramBins, pilot: slice)
        }
    }

    public mutating func update(values: UnsafeBufferPointer<Float>, spans: [ExcerptSpan]) {
        samplers.withUnsafeMutableBufferPointer { parts in
            Parallel.forEach(parts.count) { part in
                parts[part].update(values: values, spans: spans)
            }
        }
    }

    public func encodedNeuron(_ neuron: Int) throws -> ActivationDatabase.EncodedNeuron {
        let part = samplers.lastIndex { $0.firstNeuron <= neuron }!
        return try samplers[part].encodedNeuron(neuron - samplers[part].firstNeuron)
    }

    public func serialize() -> [UInt8] {
        var writer = BinaryWriter()
        for sampler in samplers {
            let bytes = sampler.serialize()
            writer.write(bytes.count)
            writer.write(bytes)
        }
        return writer.bytes
    }

    public mutating func restore(_ bytes: [UInt8]) throws {
        var reader = BinaryReader(bytes)
        for part in samplers.indices {
            let count = try reader.readInt()
            let partBytes: [UInt8] = try reader.read(count)
            try samplers[part].restore(partBytes)
        }
    }
}
