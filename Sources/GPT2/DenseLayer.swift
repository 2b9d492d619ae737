/// y = x · W + b with the forward pass's matrix multiply (rows split over the cores) in a chosen precision, for
/// modules downstream of the model that apply their own dense layers to its activations (SAE encoders and
/// decoders).
public struct DenseLayer: Sendable {
    let projection: Projection
    public var inputs: Int { projection.inputs }
    public var outputs: Int { projection.outputs }

    /// weight [inputs, outputs], bias [outputs], held in `precision` (bf16 rounds the weights once, here); float32
    /// products run on `blas` (throws if it cannot be loaded).
    public init(
        weight: [Float], bias: [Float], inputs: Int, outputs: Int, precision: MatrixPrecision = .float32,
        blas: BLASLibrary = .openBLAS
    ) throws {
        precondition(weight.count == inputs * outputs && bias.count == outputs)
        projection = try Projection(
            weight: weight, bias: bias, inputs: inputs, outputs: outputs, precision: precision, blas: blas)
    }

    /// x [rows, inputs] → [rows, outputs].
    public func apply(_ x: [Float], rows: Int) -> [Float] {
        precondition(x.count == rows * inputs)
        var out = [Float](repeating: 0, count: rows * outputs)
        x.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { projection.apply(x.baseAddress!, $0.baseAddress!, rows: rows) }
        }
        return out
    }
}
