#ifndef NEURONBENCH_BFLOAT16_GEMM_H
#define NEURONBENCH_BFLOAT16_GEMM_H

#include <stddef.h>
#include <stdint.h>

// Matrix multiplies with bfloat16 inputs and float32 accumulation. On CPUs with AVX-512 BF16 (Intel Cooper Lake /
// Sapphire Rapids, AMD Zen 4 and later) `vdpbf16ps` does twice the multiply-adds of an fp32 FMA; on CPUs with
// AVX-512F alone (Intel Skylake-SP to Ice Lake) the same arithmetic runs as float32 FMAs (a bf16 × bf16 product is
// exact in float32), equal to Intel's definition of `vdpbf16ps` except for subnormal numbers, at float32's rate.
//
// The weights W[K, N] are rounded to bfloat16 once and packed into panels of 32 columns, each k-pair of a
// column adjacent (the layout `vdpbf16ps` reads). The activations X[M, K] are rounded to bfloat16 block by block
// inside each call. Rounding is to nearest, ties to even, in both.

#ifdef __cplusplus
extern "C" {
#endif

/// 1 if this CPU (and OS) can run the bfloat16 kernels (AVX-512F and FMA), else 0.
int nb_bf16_supported(void);

/// 1 if they run on the CPU's own bfloat16 instructions (AVX-512 BF16), 0 if emulated with float32 FMAs.
int nb_bf16_native(void);

/// Number of uint16 elements `nb_bf16_pack` writes for a [k, n] matrix.
size_t nb_bf16_packed_count(int k, int n);

/// Rounds row-major w[k, n] (float32) to bfloat16 and packs it into `packed` (nb_bf16_packed_count(k, n)
/// elements, 64-byte aligned). Runs on any CPU.
void nb_bf16_pack(const float *w, int k, int n, uint16_t *packed);

/// The same for w[r, c] = w[r · row_stride + c · column_stride]: a transposed or strided view (attention's keys and
/// values, read in place from the fused Q|K|V rows). Where a stride is 1 and nb_bf16_supported() it rounds as the
/// activations are rounded (the native conversion, or its emulation: both also flush subnormals to zero).
void nb_bf16_pack_strided(const float *w, ptrdiff_t row_stride, ptrdiff_t column_stride, int k, int n, uint16_t *packed);

/// out[m, n] += bf16(x[m, k]) · packed, accumulated in float32. x has row stride k, out row stride n.
/// Single-threaded; the caller splits rows across cores. Requires nb_bf16_supported().
void nb_bf16_gemm_accumulate(const float *x, int m, int k, int n, const uint16_t *packed, float *out);

/// out[m, n] (+)= bf16(x[m, k]) · packed with row strides `ldx` and `ldo`, added to out if `accumulate`, else
/// overwriting it, against the first k rows and n columns of a matrix packed with `panel_pairs` k-pairs per panel
/// ((k' + 1) / 2 for the k' it was packed with, k ≤ k'): a corner of a larger packed matrix, as causal attention
/// uses the first keys of a sequence. A k of 0 leaves out as it is.
void nb_bf16_gemm_strided(
    const float *x, int ldx, int m, int k, int n, const uint16_t *packed, int panel_pairs, float *out, int ldo,
    int accumulate);

/// Round-to-nearest-even float32 -> bfloat16 (NaN stays NaN), for tests and packing.
uint16_t nb_bf16_from_float(float value);

#ifdef __cplusplus
}
#endif

#endif
