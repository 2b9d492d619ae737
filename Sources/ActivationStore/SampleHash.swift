import Support

/// The seeded hash behind every random choice of the precompute (specified in Schemas/activations.md). A choice made by hash ("the k excerpts with the
/// smallest hash") does not depend on the order excerpts arrive in, on the batch size or on sharding, and two
/// shards' choices merge into the single run's exactly.
public enum SampleHash {
    /// Distinct streams, so that a neuron's random sample and its quantile samples are independent.
    public enum Stream: UInt64, Sendable {
        case random = 0x52414E44  // "RAND"
        case quantile = 0x5155414E  // "QUAN"
        case pilot = 0x50494C4F  // "PILO"
        case neurons = 0x4E455552  // "NEUR": choosing neurons to evaluate
    }

    /// SplitMix64's step and finaliser: a bijection on 64 bits with good avalanche.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 { SplitMix64.finalize(value &+ 0x9E37_79B9_7F4A_7C15) }

    /// The hash of an excerpt for one neuron and stream, as a Double holding its top 53 bits (exact).
    @inline(__always)
    public static func key(seed: UInt64, stream: Stream, layer: Int, neuron: Int, excerpt: Int) -> Double {
        key(neuronHash: neuronHash(seed: seed, stream: stream, layer: layer, neuron: neuron), excerpt: excerpt)
    }

    /// The part of `key` that depends on the neuron only: the samplers compute it once per neuron instead of once
    /// per neuron and excerpt.
    @inline(__always)
    public static func neuronHash(seed: UInt64, stream: Stream, layer: Int, neuron: Int) -> UInt64 {
        mix(mix(seed ^ stream.rawValue) ^ (UInt64(layer) << 32 | UInt64(neuron)))
    }

    /// `key` from the neuron's `neuronHash`.
    @inline(__always)
    public static func key(neuronHash: UInt64, excerpt: Int) -> Double {
        Double(mix(neuronHash ^ UInt64(excerpt)) >> 11)
    }
}
