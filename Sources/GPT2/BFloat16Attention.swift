import BFloat16GEMM

/// Causal attention's two matrix products in bfloat16, for `MatrixPrecision.bfloat16` (as `torch.autocast` runs
/// them): at 1,024-token contexts they are about a tenth of the forward pass's arithmetic, and in float32 they ran at
/// half the rate of the projections around them. The softmax stays float32. The blocking is `causalAttention`'s, so
/// a token's output still does not depend on what follows it or on the batch.
extension Kernels {
    /// UInt16s of packed keys and values one head of a T-token sequence needs (64-byte multiples).
    static func bfloat16AttentionWorkspace(t: Int, c: Int, heads: Int) -> Int {
        let d = c / heads, padded = (t + attentionBlock - 1) / attentionBlock * attentionBlock
        return nb_bf16_packed_count(Int32(d), Int32(t)) + nb_bf16_packed_count(Int32(padded), Int32(d))
    }

    /// One head of `causalAttention` with bf16 products: S = scale · bf16(Q) bf16(K)ᵀ, out = bf16(softmax(S)) bf16(V).
    /// `scores` holds [64, T'] floats, `packed` `bfloat16AttentionWorkspace` UInt16s (64-byte aligned).
    static func causalAttentionBFloat16(
        _ qkv: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>,
        packed: UnsafeMutablePointer<UInt16>, t: Int, c: Int, heads: Int, head h: Int, scale: Float
    ) {
        let d = c / heads, block = attentionBlock
        let padded = (t + block - 1) / block * block
        let stride = 3 * c
        // Kᵀ [D, T] and V [T', D] (rows from T on zero), read in place from the Q|K|V rows.
        let keys = packed, values = packed + nb_bf16_packed_count(Int32(d), Int32(t))
        nb_bf16_pack_strided(qkv + c + h * d, 1, stride, Int32(d), Int32(t), keys)
        nb_bf16_pack_strided(qkv + 2 * c + h * d, stride, 1, Int32(t), Int32(d), values)
        let keyPairs = Int32((d + 1) / 2), valuePairs = Int32((t + 1) / 2)
        for r0 in Swift.stride(from: 0, to: t, by: block) {
            let r1 = min(t, r0 + block), rows = r1 - r0
            nb_bf16_gemm_strided(
                qkv + r0 * stride + h * d, Int32(stride), Int32(rows), Int32(d), Int32(r1), keys, keyPairs, scores,
                Int32(padded), 0)
            // The block sees keys up to r0 + 64 but only the first T exist: the others would add exact zeros
            // (masked), so the sums, and a token's output, are the same whatever T is.
            let reduced = min(r0 + block, t)
            for i in r0..<r1 {
                let row = scores + (i - r0) * padded
                for j in 0...i { row[j] *= scale }
                softmax(row, count: i + 1)
                (row + i + 1).update(repeating: 0, count: reduced - i - 1)
            }
            nb_bf16_gemm_strided(
                scores, Int32(padded), Int32(rows), Int32(reduced), Int32(d), values, valuePairs,
                out + r0 * c + h * d, Int32(c), 0)
        }
    }
}
