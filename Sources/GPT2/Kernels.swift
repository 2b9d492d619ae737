import BFloat16GEMM
import COpenBLAS
import Foundation
import Support

// The forward pass's building blocks. Shapes use the legend of GPT2Model.swift: M rows (= B·T tokens), C
// embedding, N neurons. Every matrix is row-major; each BLAS kernel has a naive reference beside it that the
// tests compare it with.
enum Kernels {
    /// out[M, N] (+)= x[M, K] · w + bias[N] in float32: the bias is written (or added: a projection into the
    /// residual stream) first, then `w`'s library accumulates the product into it (beta = 1), rows split over the
    /// cores.
    static func float32Linear(
        _ x: UnsafePointer<Float>, _ w: Float32Matrix, _ bias: UnsafePointer<Float>,
        _ out: UnsafeMutablePointer<Float>, m: Int, adding: Bool
    ) {
        let k = w.rows, n = w.columns
        inRowBlocks(m) { r0, r1 in
            startWithBias(bias, out, rows: r0..<r1, n: n, adding: adding)
            w.accumulate(x + r0 * k, into: out + r0 * n, rows: r1 - r0)
        }
    }

    /// Splits rows 0..<m into one block per core (when there are enough rows) and runs `body(r0, r1)` on each
    /// in parallel: every sgemm is single-threaded (see `Parallel`), so this is where matrix multiplies use the
    /// machine.
    static func inRowBlocks(_ m: Int, _ body: (Int, Int) -> Void) {
        let blocks = max(1, min(Parallel.workers, m / 32))
        Parallel.forEach(blocks) { block in body(block * m / blocks, (block + 1) * m / blocks) }
    }

    /// out[M, N] (+)= bf16(x[M, K]) · w + bias[N], accumulated in float32 (`MatrixPrecision.bfloat16`): the bias
    /// is written (or added) first, then the bf16 kernel accumulates into it, rows split over the cores.
    static func bfloat16Linear(
        _ x: UnsafePointer<Float>, _ w: BFloat16Matrix, _ bias: UnsafePointer<Float>,
        _ out: UnsafeMutablePointer<Float>, m: Int, adding: Bool
    ) {
        let k = w.rows, n = w.columns
        inRowBlocks(m) { r0, r1 in
            startWithBias(bias, out, rows: r0..<r1, n: n, adding: adding)
            nb_bf16_gemm_accumulate(x + r0 * k, Int32(r1 - r0), Int32(k), Int32(n), w.packed, out + r0 * n)
        }
    }

    /// out[row] = bias (or += bias) for each row: every projection writes its bias first and accumulates the
    /// product into it.
    private static func startWithBias(
        _ bias: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Range<Int>,
        n: Int, adding: Bool
    ) {
        for row in rows {
            let o = out + row * n
            if adding { for j in 0..<n { o[j] += bias[j] } } else { o.update(from: bias, count: n) }
        }
    }

    /// The naive reference for `linear`, accumulating in Double.
    static func referenceLinear(_ x: [Float], _ w: [Float], _ bias: [Float], m: Int, k: Int, n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = Double(bias[j])
                for p in 0..<k { sum += Double(x[i * k + p]) * Double(w[p * n + j]) }
                out[i * n + j] = Float(sum)
            }
        }
        return out
    }

    /// out[M, C] = (x - mean) / sqrt(var + eps) · weight + bias, per row, biased variance (as torch's LayerNorm).
    /// Rows in one block per core: its reductions run in order (the same bits as ever), so one core alone cost
    /// about 5% of a batch's time.
    static func layerNorm(
        _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
        _ out: UnsafeMutablePointer<Float>, m: Int, c: Int, epsilon: Float
    ) {
        inRowBlocks(m) { r0, r1 in
            layerNorm(x, weight, bias, out, rows: r0..<r1, c: c, epsilon: epsilon)
        }
    }

    private static func layerNorm(
        _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
        _ out: UnsafeMutablePointer<Float>, rows: Range<Int>, c: Int, epsilon: Float
    ) {
        for row in rows {
            let xr = x + row * c, o = out + row * c
            var mean: Float = 0
            for j in 0..<c { mean += xr[j] }
            mean /= Float(c)
            var variance: Float = 0
            for j in 0..<c { let d = xr[j] - mean; variance += d * d }
            variance /= Float(c)
            let scale = 1 / (variance + epsilon).squareRoot()
            for j in 0..<c { o[j] = (xr[j] - mean) * scale * weight[j] + bias[j] }
        }
    }

    /// GPT-2's activation, in place: gelu_new(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), computed as the
    /// identical x · sigmoid(2u) = x / (1 + e^(−2u)) with u = √(2/π)·(x + 0.044715·x³), 16 lanes at a time
    /// (`exp` below; |error| < 2e-7 relative to the activation, see KernelTests).
    static func geluNew(_ x: UnsafeMutablePointer<Float>, count: Int) {
        // One chunk per core, each a multiple of 16 values except the last.
        let chunks = count >= 1 << 16 ? Parallel.workers : 1
        let chunk = (count / chunks + 15) / 16 * 16
        Parallel.forEach(chunks) { index in
            let start = min(count, index * chunk), end = index == chunks - 1 ? count : min(count, start + chunk)
            geluNewSerial(x + start, count: end - start)
        }
    }

    private static func geluNewSerial(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let a: Float = 0.7978845608028654  // √(2/π)
        var i = 0
        while i + 16 <= count {
            let raw = UnsafeMutableRawPointer(x + i)
            let v = raw.loadUnaligned(as: SIMD16<Float>.self)
            let u = a * (v + 0.044715 * v * v * v)
            raw.storeBytes(of: v / (1 + exp(-2 * u)), as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            let v = x[i]
            x[i] = 0.5 * v * (1 + tanhf(a * (v + 0.044715 * v * v * v)))
            i += 1
        }
    }

    /// The naive reference for `geluNew` (libm tanh, in Double).
    static func referenceGeluNew(_ x: Float) -> Float {
        let v = Double(x)
        return Float(0.5 * v * (1 + Foundation.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))))
    }

    /// e^x in 16 lanes (Cephes' expf: x = n·ln2 + r, |r| ≤ ln2/2, a degree-5 polynomial for e^r, 2^n from the
    /// exponent bits; inputs clamped to [−87.3, 88.3], where float32 neither overflows nor goes subnormal).
    /// Relative error about 1 ulp; the tests compare it with libm over the whole range.
    @inline(__always)
    static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        // Rounding and the float -> int conversion use the 1.5·2²³ trick: adding it leaves round(v) in the low
        // mantissa bits, with no per-lane library calls.
        let magic = SIMD16<Float>(repeating: 12_582_912)
        let low = SIMD16<Float>(repeating: -87.3), high = SIMD16<Float>(repeating: 88.3)
        let clamped = x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
        let shifted = clamped * 1.44269504088896341 + magic
        let n = shifted - magic
        let r = clamped - n * 0.693359375 - n * -2.12194440e-4
        var p: SIMD16<Float> = SIMD16(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let y = p * r * r + r + 1
        let integer = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
        return y * unsafeBitCast((integer &+ 127) &<< 23, to: SIMD16<Float>.self)
    }

    /// Query rows per attention block.
    static let attentionBlock = 64

    /// Floats of workspace `causalAttention` needs for T tokens: a [64, T'] scores block and a [T', D] copy of one
    /// head's values, T' = T rounded up to a multiple of 64.
    static func attentionWorkspace(t: Int, c: Int, heads: Int) -> Int {
        let padded = (t + attentionBlock - 1) / attentionBlock * attentionBlock
        return attentionBlock * padded + padded * (c / heads)
    }

    /// Causal multi-head self-attention for one sequence.
    /// qkv: [T, 3C] with columns [Q | K | V] and head h in columns h·D..<(h+1)·D of each; out: [T, C];
    /// workspace: `attentionWorkspace(t:c:heads:)` floats. Per head and block of up to 64 query rows
    /// [r0, r1), two sgemms over the keys the block can see: S = scale · Q[r0..<r1] K[0..<r1]ᵀ, then
    /// out = softmax_causal(S) · V[0..<r0 + 64] (V zero-padded), so long contexts skip most of the masked half.
    /// Every sgemm's reduction length depends on the row's block only, never on T, so a token's output is bit for
    /// bit the same however much padding or later text follows it (precompute's results do not depend on batching).
    static func causalAttention(
        _ qkv: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
        workspace: UnsafeMutablePointer<Float>, t: Int, c: Int, heads: Int, scale: Float,
        sgemm: BLASLibrary.SGEMM = cblas_sgemm
    ) {
        for h in 0..<heads {
            causalAttention(
                qkv, out, workspace: workspace, t: t, c: c, heads: heads, head: h, scale: scale, sgemm: sgemm)
        }
    }

    /// One head `head` of `causalAttention`.
    static func causalAttention(
        _ qkv: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
        workspace: UnsafeMutablePointer<Float>, t: Int, c: Int, heads: Int, head h: Int, scale: Float,
        sgemm: BLASLibrary.SGEMM = cblas_sgemm
    ) {
        let d = c / heads, block = attentionBlock
        let padded = (t + block - 1) / block * block
        let stride = Int32(3 * c)
        let q = qkv + h * d, k = qkv + c + h * d
        let scores = workspace  // [block, padded]
        let values = workspace + block * padded  // [padded, D]: this head's V, zeros after row T
        for i in 0..<t { (values + i * d).update(from: qkv + i * 3 * c + 2 * c + h * d, count: d) }
        (values + t * d).update(repeating: 0, count: (padded - t) * d)
        for r0 in Swift.stride(from: 0, to: t, by: block) {
            let r1 = min(t, r0 + block), rows = r1 - r0, keys = r0 + block
            sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(r1), Int32(d),
                scale, q + r0 * 3 * c, stride, k, stride, 0, scores, Int32(padded))
            for i in r0..<r1 {
                let row = scores + (i - r0) * padded
                softmax(row, count: i + 1)
                (row + i + 1).update(repeating: 0, count: keys - i - 1)
            }
            sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(d), Int32(keys),
                1, scores, Int32(padded), values, Int32(d), 0, out + r0 * c + h * d, Int32(c))
        }
    }

    /// Causal attention for a batch of B sequences ([B·T, 3C] -> [B·T, C]), the B × H heads spread over the cores,
    /// each worker with its own workspace.
    static func batchedCausalAttention(
        _ qkv: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
        batch b: Int, t: Int, c: Int, heads: Int, scale: Float, precision: MatrixPrecision = .float32,
        sgemm: BLASLibrary.SGEMM = cblas_sgemm
    ) {
        let items = b * heads, workers = min(Parallel.workers, items)
        let size = attentionWorkspace(t: t, c: c, heads: heads)
        let workspace = UnsafeMutablePointer<Float>.allocate(capacity: workers * size)
        defer { workspace.deallocate() }
        let packedSize = precision == .bfloat16 ? bfloat16AttentionWorkspace(t: t, c: c, heads: heads) : 0
        let packed = UnsafeMutableRawPointer.allocate(byteCount: max(1, workers * packedSize * 2), alignment: 64)
            .bindMemory(to: UInt16.self, capacity: workers * packedSize)
        defer { packed.deallocate() }
        Parallel.forEach(workers) { worker in
            for item in Swift.stride(from: worker, to: items, by: workers) {
                let s = item / heads
                switch precision {
                case .float32:
                    causalAttention(
                        qkv + s * t * 3 * c, out + s * t * c, workspace: workspace + worker * size,
                        t: t, c: c, heads: heads, head: item % heads, scale: scale, sgemm: sgemm)
                case .bfloat16:
                    causalAttentionBFloat16(
                        qkv + s * t * 3 * c, out + s * t * c, scores: workspace + worker * size,
                        packed: packed + worker * packedSize, t: t, c: c, heads: heads, head: item % heads,
                        scale: scale)
                }
            }
        }
    }

    /// In place: row[0..<count] = softmax(row[0..<count]), the exponentials 16 lanes at a time.
    static func softmax(_ row: UnsafeMutablePointer<Float>, count: Int) {
        var maximum = -Float.infinity
        for j in 0..<count { maximum = max(maximum, row[j]) }
        var sum: Float = 0
        var j = 0
        var lanes = SIMD16<Float>()
        while j + 16 <= count {
            let raw = UnsafeMutableRawPointer(row + j)
            let e = exp(raw.loadUnaligned(as: SIMD16<Float>.self) - maximum)
            raw.storeBytes(of: e, as: SIMD16<Float>.self)
            lanes += e
            j += 16
        }
        sum = lanes.sum()
        while j < count { row[j] = expf(row[j] - maximum); sum += row[j]; j += 1 }
        let inverse = 1 / sum
        for j in 0..<count { row[j] *= inverse }
    }

    /// The naive reference for `causalAttention`, accumulating in Double.
    static func referenceCausalAttention(_ qkv: [Float], t: Int, c: Int, heads: Int, scale: Float) -> [Float] {
        let d = c / heads
        var out = [Float](repeating: 0, count: t * c)
        for h in 0..<heads {
            for i in 0..<t {
                var weights = (0...i).map { j -> Double in
                    var dot = 0.0
                    for p in 0..<d {
                        dot += Double(qkv[i * 3 * c + h * d + p]) * Double(qkv[j * 3 * c + c + h * d + p])
                    }
                    return dot * Double(scale)
                }
                let maximum = weights.max()!
                weights = weights.map { Foundation.exp($0 - maximum) }
                let sum = weights.reduce(0, +)
                for p in 0..<d {
                    var value = 0.0
                    for j in 0...i { value += weights[j] / sum * Double(qkv[j * 3 * c + 2 * c + h * d + p]) }
                    out[i * c + h * d + p] = Float(value)
                }
            }
        }
        return out
    }
}
