// bfloat16 matrix multiply with float32 accumulation on AVX-512 BF16, or on AVX-512F alone with the same
// arithmetic (see "Without AVX-512 BF16" below); see include/bfloat16_gemm.h.
//
// Blocking (GotoBLAS order, the weights packed once at load time):
//   for each block of KC k's:            the weights' panels for these k's: KC/2 pairs × 32 columns (48 KB per panel)
//     for each block of MC rows:         X[rows, k's] rounded to bf16 into a small row-major buffer (L2)
//       for each 32-column panel:        the panel block (48 KB, in L2) is reused by the MC/MR micro-tiles
//         for each MR-row micro-tile:    MR × 32 outputs in 2·MR zmm accumulators, one vdpbf16ps per k-pair each
//
// vdpbf16ps: acc[i] += a[2i]·b[2i] + a[2i+1]·b[2i+1] for 16 float32 lanes i. The weights give b: lane i holds
// column i's two k's of the pair; the activations give a: row r's two k's broadcast to all lanes.

#include "bfloat16_gemm.h"

#include <string.h>

enum {
    NR = 32,   // columns per weight panel (two zmm of float32 outputs)
    MR = 12,   // rows per micro-tile: 24 accumulators + 2 weight registers + 1 broadcast of 32 zmm
    KC = 768,  // k's per block (even): a panel block is 384 pairs × 128 bytes = 48 KB, in L1/L2 (measured best of 128–768)
    MC = 96,   // rows per block (a multiple of MR): 96 × 768 bf16 = 144 KB, in L2
};

uint16_t nb_bf16_from_float(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu) != 0) {
        return (uint16_t)((bits >> 16) | 0x0040u);  // NaN: keep it a (quiet) NaN
    }
    bits += 0x7FFFu + ((bits >> 16) & 1u);          // round to nearest, ties to even
    return (uint16_t)(bits >> 16);
}

static int pair_count(int k) { return (k + 1) / 2; }
static int panel_count(int n) { return (n + NR - 1) / NR; }

size_t nb_bf16_packed_count(int k, int n) {
    return (size_t)panel_count(n) * (size_t)pair_count(k) * 2 * NR;
}

// Panel j, pair p, column c (0..<32), half h: packed[(j · pairs + p) · 64 + 2c + h] = w[2p + h, 32j + c], zero
// outside w.
static void pack_scalar(const float *w, ptrdiff_t row_stride, ptrdiff_t column_stride, int k, int n, uint16_t *packed);

void nb_bf16_pack(const float *w, int k, int n, uint16_t *packed) { pack_scalar(w, n, 1, k, n, packed); }

static void pack_scalar(const float *w, ptrdiff_t row_stride, ptrdiff_t column_stride, int k, int n, uint16_t *packed) {
    int pairs = pair_count(k);
    for (int j = 0; j < panel_count(n); j++) {
        for (int p = 0; p < pairs; p++) {
            uint16_t *out = packed + ((size_t)j * pairs + p) * 2 * NR;
            for (int c = 0; c < NR; c++) {
                for (int h = 0; h < 2; h++) {
                    int row = 2 * p + h, column = j * NR + c;
                    out[2 * c + h] = (row < k && column < n)
                        ? nb_bf16_from_float(w[row * row_stride + column * column_stride]) : 0;
                }
            }
        }
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

int nb_bf16_native(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512bf16");
}

int nb_bf16_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

static void pack_strided_emulated(const float *w, ptrdiff_t rs, ptrdiff_t cs, int k, int n, uint16_t *packed);

// Cached once: the kernels ask on every call.
static int native_kernels(void) {
    static int cached = -1;
    if (cached < 0) cached = nb_bf16_native();
    return cached;
}

// nb_bf16_pack_strided for attention's keys (row_stride 1: a column's k's are adjacent floats) and values
// (column_stride 1: a row's columns are), 16 floats per conversion: it runs per head and sequence, and scalar it
// cost a quarter of what bf16 saved there. Word (j · pairs + p) · 32 + c of the packing is rows 2p (low half) and
// 2p + 1 of column 32j + c.
BF16_TARGET
static void pack_strided_vector(const float *w, ptrdiff_t rs, ptrdiff_t cs, int k, int n, uint16_t *packed) {
    int pairs = pair_count(k), panels = panel_count(n);
    uint32_t *words = (uint32_t *)packed;
    const __m512 zero = _mm512_setzero_ps();
    if (cs == 1) {
        for (int j = 0; j < panels; j++) {
            for (int p = 0; p < pairs; p++) {
                uint32_t *out = words + ((size_t)j * pairs + p) * NR;
                for (int half = 0; half < 2; half++) {
                    int c0 = j * NR + half * 16, count = n - c0 < 0 ? 0 : n - c0 > 16 ? 16 : n - c0;
                    __mmask16 m = (__mmask16)((1u << count) - 1);
                    __m512 lo = 2 * p < k ? _mm512_maskz_loadu_ps(m, w + 2 * p * rs + c0) : zero;
                    __m512 hi = 2 * p + 1 < k ? _mm512_maskz_loadu_ps(m, w + (2 * p + 1) * rs + c0) : zero;
                    __m512i l = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(lo));
                    __m512i h = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(hi));
                    _mm512_storeu_si512(out + half * 16, _mm512_or_si512(l, _mm512_slli_epi32(h, 16)));
                }
            }
        }
        return;
    }
    for (int j = 0; j < panels; j++) {
        for (int c = 0; c < NR; c++) {
            int column = j * NR + c;
            for (int p0 = 0; p0 < pairs; p0 += 8) {
                int count = k - 2 * p0 > 16 ? 16 : k - 2 * p0;
                __mmask16 m = (__mmask16)((1u << count) - 1);
                __m512 v = column < n ? _mm512_maskz_loadu_ps(m, w + column * cs + 2 * p0 * rs) : zero;
                uint32_t eight[8];
                _mm256_storeu_si256((__m256i *)eight, (__m256i)_mm512_cvtneps_pbh(v));
                for (int q = 0; q < 8 && p0 + q < pairs; q++) words[((size_t)j * pairs + p0 + q) * NR + c] = eight[q];
            }
        }
    }
}

void nb_bf16_pack_strided(const float *w, ptrdiff_t row_stride, ptrdiff_t column_stride, int k, int n, uint16_t *packed) {
    if ((column_stride == 1 || row_stride == 1) && native_kernels()) {
        pack_strided_vector(w, row_stride, column_stride, k, n, packed);
    } else if ((column_stride == 1 || row_stride == 1) && nb_bf16_supported()) {
        pack_strided_emulated(w, row_stride, column_stride, k, n, packed);
    } else {
        pack_scalar(w, row_stride, column_stride, k, n, packed);
    }
}

// Rounds x[rows, 0..<kc] (row stride ldx) to bf16 into a[MR-padded rows, kcp] (row stride kcp, kcp = kc rounded
// up to even); padding rows and the odd column are zero.
BF16_TARGET
static void pack_rows(const float *x, int ldx, int rows, int padded_rows, int kc, int kcp, uint16_t *a) {
    for (int r = 0; r < padded_rows; r++) {
        uint16_t *out = a + (size_t)r * kcp;
        if (r >= rows) { memset(out, 0, (size_t)kcp * sizeof *out); continue; }
        const float *in = x + (size_t)r * ldx;
        int c = 0;
        for (; c + 16 <= kc; c += 16) {
            __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(in + c));
            _mm256_storeu_si256((__m256i *)(out + c), (__m256i)h);
        }
        if (c < kcp) {
            __mmask16 load = (__mmask16)((1u << (kc - c)) - 1), store = (__mmask16)((1u << (kcp - c)) - 1);
            __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(load, in + c));
            _mm256_mask_storeu_epi16(out + c, store, (__m256i)h);
        }
    }
}

// out[rows, cols] (+)= a[MR, 2·pairs] · b[pairs, 32 columns × 2], rows ≤ MR, cols ≤ 32: added to out, or
// overwriting it when !accumulate.
BF16_TARGET
static void micro_tile(
    const uint16_t *a, int lda, const uint16_t *b, int pairs, float *out, int ldo, int rows, int cols, int accumulate) {
    __m512 acc[MR][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
    for (int p = 0; p < pairs; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)(b + p * 2 * NR));
        __m512bh b1 = (__m512bh)_mm512_load_si512((const void *)(b + p * 2 * NR + NR));
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            int32_t word;
            memcpy(&word, a + (size_t)r * lda + 2 * p, sizeof word);
            __m512bh x = (__m512bh)_mm512_set1_epi32(word);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
        }
    }
    if (rows == MR && cols == NR) {
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            float *o = out + (size_t)r * ldo;
            _mm512_storeu_ps(o, accumulate ? _mm512_add_ps(_mm512_loadu_ps(o), acc[r][0]) : acc[r][0]);
            _mm512_storeu_ps(o + 16, accumulate ? _mm512_add_ps(_mm512_loadu_ps(o + 16), acc[r][1]) : acc[r][1]);
        }
        return;
    }
    __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    __mmask16 m1 = (__mmask16)(cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
    for (int r = 0; r < rows; r++) {
        float *o = out + (size_t)r * ldo;
        __m512 o0 = accumulate ? _mm512_maskz_loadu_ps(m0, o) : _mm512_setzero_ps();
        __m512 o1 = accumulate ? _mm512_maskz_loadu_ps(m1, o + 16) : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(o, m0, _mm512_add_ps(o0, acc[r][0]));
        _mm512_mask_storeu_ps(o + 16, m1, _mm512_add_ps(o1, acc[r][1]));
    }
}

void nb_bf16_gemm_accumulate(const float *x, int m, int k, int n, const uint16_t *packed, float *out) {
    nb_bf16_gemm_strided(x, k, m, k, n, packed, pair_count(k), out, n, 1);
}

static void gemm_emulated(
    const float *x, int ldx, int m, int k, int n, const uint16_t *packed, int panel_pairs, float *out, int ldo,
    int accumulate);

BF16_TARGET
static void gemm_native(
    const float *x, int ldx, int m, int k, int n, const uint16_t *packed, int panel_pairs, float *out, int ldo,
    int accumulate);

void nb_bf16_gemm_strided(
    const float *x, int ldx, int m, int k, int n, const uint16_t *packed, int panel_pairs, float *out, int ldo,
    int accumulate) {
    if (native_kernels()) {
        gemm_native(x, ldx, m, k, n, packed, panel_pairs, out, ldo, accumulate);
    } else {
        gemm_emulated(x, ldx, m, k, n, packed, panel_pairs, out, ldo, accumulate);
    }
}

BF16_TARGET
static void gemm_native(
    const float *x, int ldx, int m, int k, int n, const uint16_t *packed, int panel_pairs, float *out, int ldo,
    int accumulate) {
    static _Thread_local uint16_t a[MC * KC] __attribute__((aligned(64)));
    int panels = panel_count(n);
    for (int pc = 0; pc < k; pc += KC) {
        int kc = k - pc < KC ? k - pc : KC, kcp = (kc + 1) & ~1;
        for (int ic = 0; ic < m; ic += MC) {
            int mc = m - ic < MC ? m - ic : MC, padded = (mc + MR - 1) / MR * MR;
            pack_rows(x + (size_t)ic * ldx + pc, ldx, mc, padded, kc, kcp, a);
            for (int j = 0; j < panels; j++) {
                const uint16_t *b = packed + ((size_t)j * panel_pairs + pc / 2) * 2 * NR;
                int cols = n - j * NR < NR ? n - j * NR : NR;
                for (int ir = 0; ir < mc; ir += MR) {
                    int rows = mc - ir < MR ? mc - ir : MR;
                    micro_tile(
                        a + (size_t)ir * kcp, kcp, b, kcp / 2, out + (size_t)(ic + ir) * ldo + j * NR, ldo, rows, cols,
                        accumulate || pc > 0);
                }
            }
        }
    }
}

// Without AVX-512 BF16 (Intel Skylake-SP, Cascade Lake, Ice Lake): the same arithmetic on AVX-512F. A product of two
// bfloat16 numbers is exact in float32 (8 × 8 significant bits), so vdpbf16ps's acc += a[2i+1]·b[2i+1];
// acc += a[2i]·b[2i] (Intel's definition: the odd pair first, each sum rounded to nearest) is two FMAs: the results
// equal that definition bit for bit (KernelTests), except where a subnormal number meets the instruction's flush to
// zero. Whether a given CPU's vdpbf16ps follows the definition to the last bit is not tested here. A bfloat16 is a float32 with its low 16 bits zero, so the packed
// weights expand with a shift (the even k) and a mask (the odd k); the activations are rounded into float32s.
// The rates are float32's: this is about precision parity, not speed, on these CPUs.
#define EMULATED_TARGET __attribute__((target("avx512f,fma")))

// bf16(x) as a float32 (low 16 bits zero): round to nearest even, NaN kept quiet, subnormals flushed to a signed
// zero as the native conversion (`vcvtneps2bf16`) flushes them.
EMULATED_TARGET
static inline __m512i round_to_bf16_bits(__m512 value) {
    const __m512i bits = _mm512_castps_si512(value);
    const __m512i magnitude = _mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF));
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), lsb));
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(magnitude, _mm512_set1_epi32(0x7F800000));
    rounded = _mm512_mask_or_epi32(rounded, nan, bits, _mm512_set1_epi32(0x00400000));
    const __mmask16 subnormal = _mm512_cmplt_epu32_mask(magnitude, _mm512_set1_epi32(0x00800000));
    rounded = _mm512_mask_and_epi32(rounded, subnormal, bits, _mm512_set1_epi32((int)0x80000000u));
    return _mm512_and_si512(rounded, _mm512_set1_epi32((int)0xFFFF0000u));
}

// pack_strided_vector's layout with round_to_bf16_bits: word c of pair p is rows 2p (low half) and 2p + 1 (high).
EMULATED_TARGET
static void pack_strided_emulated(const float *w, ptrdiff_t rs, ptrdiff_t cs, int k, int n, uint16_t *packed) {
    int pairs = pair_count(k), panels = panel_count(n);
    uint32_t *words = (uint32_t *)packed;
    const __m512 zero = _mm512_setzero_ps();
    if (cs == 1) {
        for (int j = 0; j < panels; j++) {
            for (int p = 0; p < pairs; p++) {
                uint32_t *out = words + ((size_t)j * pairs + p) * NR;
                for (int half = 0; half < 2; half++) {
                    int c0 = j * NR + half * 16, count = n - c0 < 0 ? 0 : n - c0 > 16 ? 16 : n - c0;
                    __mmask16 m = (__mmask16)((1u << count) - 1);
                    __m512 lo = 2 * p < k ? _mm512_maskz_loadu_ps(m, w + 2 * p * rs + c0) : zero;
                    __m512 hi = 2 * p + 1 < k ? _mm512_maskz_loadu_ps(m, w + (2 * p + 1) * rs + c0) : zero;
                    __m512i l = _mm512_srli_epi32(round_to_bf16_bits(lo), 16), h = round_to_bf16_bits(hi);
                    _mm512_storeu_si512(out + half * 16, _mm512_or_si512(l, h));
                }
            }
        }
        return;
    }
    for (int j = 0; j < panels; j++) {
        for (int c = 0; c < NR; c++) {
            int column = j * NR + c;
            for (int p0 = 0; p0 < pairs; p0 += 8) {
                int count = k - 2 * p0 > 16 ? 16 : k - 2 * p0;
                __mmask16 m = (__mmask16)((1u << count) - 1);
                __m512 v = column < n ? _mm512_maskz_loadu_ps(m, w + column * cs + 2 * p0 * rs) : zero;
                uint32_t rounded[16];
                _mm512_storeu_si512(rounded, round_to_bf16_bits(v));
                for (int q = 0; q < 8 && p0 + q < pairs; q++) {
                    words[((size_t)j * pairs + p0 + q) * NR + c] = (rounded[2 * q] >> 16) | rounded[2 * q + 1];
                }
            }
        }
    }
}

// Rounds x[rows, 0..<kc] to bf16 (as float32s) into MR-row micro-panels: element (r, kk) of micro-panel i at
// a[(i · kcp + kk) · MR + r], so the micro-tile reads its rows' values for one k as one contiguous run. Padding rows
// and the odd column are zero.
EMULATED_TARGET
static void pack_rows_emulated(const float *x, int ldx, int rows, int padded_rows, int kc, int kcp, float *a) {
    float column[16] __attribute__((aligned(64)));
    for (int i = 0; i < padded_rows / MR; i++) {
        float *panel = a + (size_t)i * kcp * MR;
        for (int r = 0; r < MR; r++) {
            int row = i * MR + r;
            if (row >= rows) {
                for (int kk = 0; kk < kcp; kk++) panel[(size_t)kk * MR + r] = 0;
                continue;
            }
            const float *in = x + (size_t)row * ldx;
            for (int c = 0; c < kcp; c += 16) {
                int count = kc - c >= 16 ? 16 : kc - c;
                __mmask16 load = (__mmask16)((1u << count) - 1);
                _mm512_store_si512(column, round_to_bf16_bits(_mm512_maskz_loadu_ps(load, in + c)));
                int end = kcp - c >= 16 ? 16 : kcp - c;
                for (int q = 0; q < end; q++) panel[(size_t)(c + q) * MR + r] = column[q];
            }
        }
    }
}

// micro_tile's product on a micro-panel of pack_rows_emulated: per k-pair, the odd k's FMA, then the even k's.
EMULATED_TARGET
static void micro_tile_emulated(
    const float *a, const uint16_t *b, int pairs, float *out, int ldo, int rows, int cols, int accumulate) {
    __m512 acc[MR][2];
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
    for (int p = 0; p < pairs; p++) {
        __m512i w0 = _mm512_load_si512((const void *)(b + p * 2 * NR));
        __m512i w1 = _mm512_load_si512((const void *)(b + p * 2 * NR + NR));
        __m512 even0 = _mm512_castsi512_ps(_mm512_slli_epi32(w0, 16));
        __m512 odd0 = _mm512_castsi512_ps(_mm512_and_si512(w0, high));
        __m512 even1 = _mm512_castsi512_ps(_mm512_slli_epi32(w1, 16));
        __m512 odd1 = _mm512_castsi512_ps(_mm512_and_si512(w1, high));
        const float *ae = a + (size_t)(2 * p) * MR, *ao = ae + MR;
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            __m512 xo = _mm512_set1_ps(ao[r]), xe = _mm512_set1_ps(ae[r]);
            acc[r][0] = _mm512_fmadd_ps(xe, even0, _mm512_fmadd_ps(xo, odd0, acc[r][0]));
            acc[r][1] = _mm512_fmadd_ps(xe, even1, _mm512_fmadd_ps(xo, odd1, acc[r][1]));
        }
    }
    __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    __mmask16 m1 = (__mmask16)(cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
    for (int r = 0; r < rows; r++) {
        float *o = out + (size_t)r * ldo;
        __m512 o0 = accumulate ? _mm512_maskz_loadu_ps(m0, o) : _mm512_setzero_ps();
        __m512 o1 = accumulate ? _mm512_maskz_loadu_ps(m1, o + 16) : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(o, m0, _mm512_add_ps(o0, acc[r][0]));
        _mm512_mask_storeu_ps(o + 16, m1, _mm512_add_ps(o1, acc[r][1]));
    }
}

// gemm_native's blocking, with float32 micro-panels of the activations.
EMULATED_TARGET
static void gemm_emulated(
    const float *x, int ldx, int m, int k, int n, const uint16_t *packed, int panel_pairs, float *out, int ldo,
    int accumulate) {
    static _Thread_local float a[MC * KC] __attribute__((aligned(64)));
    int panels = panel_count(n);
    for (int pc = 0; pc < k; pc += KC) {
        int kc = k - pc < KC ? k - pc : KC, kcp = (kc + 1) & ~1;
        for (int ic = 0; ic < m; ic += MC) {
            int mc = m - ic < MC ? m - ic : MC, padded = (mc + MR - 1) / MR * MR;
            pack_rows_emulated(x + (size_t)ic * ldx + pc, ldx, mc, padded, kc, kcp, a);
            for (int j = 0; j < panels; j++) {
                const uint16_t *b = packed + ((size_t)j * panel_pairs + pc / 2) * 2 * NR;
                int cols = n - j * NR < NR ? n - j * NR : NR;
                for (int ir = 0; ir < mc; ir += MR) {
                    int rows = mc - ir < MR ? mc - ir : MR;
                    micro_tile_emulated(
                        a + (size_t)ir * kcp, b, kcp / 2, out + (size_t)(ic + ir) * ldo + j * NR, ldo, rows, cols,
                        accumulate || pc > 0);
                }
            }
        }
    }
}

#else

int nb_bf16_native(void) { return 0; }

int nb_bf16_supported(void) { return 0; }

void nb_bf16_pack_strided(const float *w, ptrdiff_t row_stride, ptrdiff_t column_stride, int k, int n, uint16_t *packed) {
    pack_scalar(w, row_stride, column_stride, k, n, packed);
}

void nb_bf16_gemm_accumulate(const float *x, int m, int k, int n, const uint16_t *packed, float *out) {
    (void)x; (void)m; (void)k; (void)n; (void)packed; (void)out;
    __builtin_trap();  // callers check nb_bf16_supported() first
}

void nb_bf16_gemm_strided(
    const float *x, int ldx, int m, int k, int n, const uint16_t *packed, int panel_pairs, float *out, int ldo,
    int accumulate) {
    (void)x; (void)ldx; (void)m; (void)k; (void)n; (void)packed; (void)panel_pairs; (void)out; (void)ldo;
    (void)accumulate;
    __builtin_trap();
}

#endif
