// bfloat16 matrix multiply with float32 accumulation on AVX-512 BF16; see include/bfloat16_gemm.h.
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

int nb_bf16_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512bf16");
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
    if ((column_stride == 1 || row_stride == 1) && nb_bf16_supported()) {
        pack_strided_vector(w, row_stride, column_stride, k, n, packed);
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

BF16_TARGET
void nb_bf16_gemm_accumulate(const float *x, int m, int k, int n, const uint16_t *packed, float *out) {
    nb_bf16_gemm_strided(x, k, m, k, n, packed, pair_count(k), out, n, 1);
}

BF16_TARGET
void nb_bf16_gemm_strided(
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

#else

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
