/// SplitMix64 (Steele, Lea and Flood 2014): the seeded generator behind every reproducible random choice that is
/// not made by hash (bootstrap resamples, the shuffled control). Same seed, same sequence, on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.finalize(state)
    }

    /// The output function: a bijection on 64 bits with good avalanche (also the basis of `SampleHash`).
    @inline(__always)
    public static func finalize(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Fisher–Yates with this generator, written out so that a seed gives the same order on every Swift version
    /// (the standard library does not promise `shuffle(using:)`'s algorithm).
    public mutating func shuffle<T>(_ elements: inout [T]) {
        guard elements.count > 1 else { return }
        for i in stride(from: elements.count - 1, to: 0, by: -1) {
            elements.swapAt(i, Int(next() % UInt64(i + 1)))
        }
    }
}
