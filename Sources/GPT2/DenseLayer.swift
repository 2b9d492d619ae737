/// y = x · W + b with the forward pass's matrix multiply (rows split over the cores), for modules downstream of
/// the model that apply their own dense layers to its activations (SAE encoders and decoders).
public enum DenseLayer {
    /// x [rows, inputs] · weight [inputs, outputs] + bias [outputs] → [rows, outputs].
    public static func apply(
        _ x: [Float], weight: [Float], bias: [Float], rows: Int, inputs: Int, outputs: Int
    )
        -> [Float]
    {
        precondition(x.count == rows * inputs && weight.count == inputs * outputs && bias.count == outputs)
        var out = [Float](repeating: 0, count: rows * outputs)
        Kernels.linear(x, weight, bias, &out, m: rows, k: inputs, n: outputs)
        return out
    }
}
