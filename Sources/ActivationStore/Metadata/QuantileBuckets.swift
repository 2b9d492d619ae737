/// The quantile buckets of OpenAI's `random_sample_by_quantile`, over the distribution of a unit's excerpt
/// maxima: [0, 0.5], [0.5, 0.9], [0.9, 0.99], [0.99, 0.999]; the top 0.1% are the top records' territory. Records
/// of kind `quantile` carry the bucket's index, and `NeuronStatistics.quantileBoundaries` its estimated edges.
public enum QuantileBuckets {
    /// The upper edge of each bucket, as a quantile of excerpt maxima.
    public static let upperEdges: [Double] = [0.5, 0.9, 0.99, 0.999]
    public static let count = upperEdges.count
    /// "[0, 0.5]", "[0.5, 0.9]", … for display.
    public static let names: [String] = zip([0.0] + upperEdges.dropLast(), upperEdges).map { low, high in
        "[\(low == 0 ? "0" : "\(low)"), \(high)]"
    }
}
