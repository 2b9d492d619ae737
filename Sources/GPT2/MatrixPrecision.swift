import BFloat16GEMM

/// The number format of the forward pass's four projections per block (attention in/out, MLP in/out), which
/// are ~98% of its arithmetic. Everything else (embeddings, layer norms, attention scores, GELU, the residual
/// stream) is float32 in both.
public enum MatrixPrecision: String, Codable, CaseIterable, Sendable {
    /// float32 sgemm (OpenBLAS): matches transformers to about 1e-5.
    case float32 = "fp32"
    /// Inputs and weights rounded to bfloat16 (8 significant bits), products accumulated in float32: on AVX-512 BF16
    /// (Intel Cooper Lake / Sapphire Rapids, AMD Zen 4 and later) about twice fp32's multiply rate on Zen 4, slower
    /// than OpenBLAS's fp32 kernels on Sapphire Rapids; on AVX-512F alone (Skylake-SP to Ice Lake) the same
    /// arithmetic at float32's rate (`bfloat16Kernel`). Activations off by ~1% of their scale (BENCHMARKS.md).
    case bfloat16 = "bf16"

    /// Whether this CPU can run it.
    public var isSupported: Bool {
        switch self {
        case .float32: return true
        case .bfloat16: return nb_bf16_supported() != 0
        }
    }

    /// How this CPU runs the bf16 products: on its own bfloat16 instructions, or as float32 FMAs doing the same
    /// arithmetic (a bf16 × bf16 product is exact in float32); nil where it cannot.
    public static var bfloat16Kernel: String? {
        guard nb_bf16_supported() != 0 else { return nil }
        return nb_bf16_native() != 0
            ? "AVX-512 BF16" : "AVX-512F FMAs (no AVX-512 BF16 on this CPU; vdpbf16ps's arithmetic)"
    }
}

/// A weight matrix [K, N] rounded to bfloat16 and packed in the layout of `nb_bf16_gemm_accumulate`, in 64-byte
/// aligned memory it owns.
final class BFloat16Matrix: @unchecked Sendable {  // immutable after init
    let rows: Int, columns: Int
    let packed: UnsafeMutablePointer<UInt16>

    init(_ matrix: [Float], rows: Int, columns: Int) {
        precondition(matrix.count == rows * columns)
        self.rows = rows
        self.columns = columns
        let count = nb_bf16_packed_count(Int32(rows), Int32(columns))
        packed = UnsafeMutableRawPointer.allocate(byteCount: count * 2, alignment: 64).bindMemory(
            to: UInt16.self, capacity: count)
        nb_bf16_pack(matrix, Int32(rows), Int32(columns), packed)
    }

    deinit { packed.deallocate() }
}

/// One projection y = x · W + b of a block (W [K, N] in Conv1D layout), held in the precision it runs in.
struct Projection: Sendable {
    enum Weights: Sendable {
        case float32(Float32Matrix)
        case bfloat16(BFloat16Matrix)
    }

    let inputs: Int, outputs: Int
    let weights: Weights
    let bias: [Float]

    /// `blas` runs the float32 products (throws if it cannot be loaded); bf16 ignores it.
    init(
        weight: [Float], bias: [Float], inputs: Int, outputs: Int, precision: MatrixPrecision, blas: BLASLibrary
    ) throws {
        self.inputs = inputs
        self.outputs = outputs
        self.bias = bias
        switch precision {
        case .float32: weights = .float32(try Float32Matrix(weight, rows: inputs, columns: outputs, blas: blas))
        case .bfloat16: weights = .bfloat16(BFloat16Matrix(weight, rows: inputs, columns: outputs))
        }
    }

    /// out[M, N] = x[M, K] · W + b.
    func apply(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows m: Int) {
        switch weights {
        case let .float32(w): Kernels.float32Linear(x, w, bias, out, m: m, adding: false)
        case let .bfloat16(w): Kernels.bfloat16Linear(x, w, bias, out, m: m, adding: false)
        }
    }

    /// out[M, N] += x[M, K] · W + b: a projection added to the residual stream.
    func add(_ x: UnsafePointer<Float>, to out: UnsafeMutablePointer<Float>, rows m: Int) {
        switch weights {
        case let .float32(w): Kernels.float32Linear(x, w, bias, out, m: m, adding: true)
        case let .bfloat16(w): Kernels.bfloat16Linear(x, w, bias, out, m: m, adding: true)
        }
    }
}
