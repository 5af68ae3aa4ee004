/* probe_cpu_simd.c - AVX2+FMA kernels for the CPU probe backend.
 *
 * The products of a small MLP layer on a block of rows are matrix products with
 * one short dimension (32..1024 inputs, a block of 128 rows). A 6 x 16 register
 * tile (12 accumulators, 2 loads and 6 broadcasts per step) keeps both FMA units
 * busy: that is what makes 32 probes cheap on two cores. Tails (rows not a
 * multiple of 6, columns not a multiple of 16) run the same tile with masked
 * loads and stores, so every shape takes one code path.
 *
 * Summation order per output element is fixed (k or r ascending), so results do
 * not depend on threads; they do differ from the plain loops, because FMA
 * rounds once where a multiply and an add round twice. */
#include "stages/probes/probe_cpu_simd.h"

#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define SIMD_FN __attribute__((target("avx2,fma")))
#define SIMD_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

int probe_simd_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static const int32_t lane_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* A mask with the first n (0..8) lanes on. */
SIMD_INLINE __m256i lanes(size_t n)
{
	return _mm256_loadu_si256((const __m256i *)(lane_table + 8 - n));
}

SIMD_INLINE float hsum(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_hadd_ps(s, s);
	s = _mm_hadd_ps(s, s);
	return _mm_cvtss_f32(s);
}

/* ---- out = [a] . b (+ bias), 6 x 16 tiles ---- */

/* One tile: rows ar[0..5] of a (past-the-end rows repeat the last row and are
 * not stored: mr says how many are real), columns j0..j0+15 of b and o (m0, m1
 * mask the columns when the tile is not full). */
SIMD_INLINE void nn_tile(size_t K, const float *const ar[6], const float *b, size_t ldb, __m256 bias0,
			 __m256 bias1, __m256i m0, __m256i m1, int full, enum probe_simd_epilogue epi, const float *gate,
			 size_t mr, float *o, size_t ldo)
{
	__m256 c[6][2];
#pragma GCC unroll 6
	for (int i = 0; i < 6; i++) {
		c[i][0] = bias0;
		c[i][1] = bias1;
	}
	for (size_t k = 0; k < K; k++) {
		const float *bk = b + k * ldb;
		__m256 b0 = full ? _mm256_loadu_ps(bk) : _mm256_maskload_ps(bk, m0);
		__m256 b1 = full ? _mm256_loadu_ps(bk + 8) : _mm256_maskload_ps(bk + 8, m1);
#pragma GCC unroll 6
		for (int i = 0; i < 6; i++) {
			__m256 av = _mm256_broadcast_ss(ar[i] + k);
			c[i][0] = _mm256_fmadd_ps(av, b0, c[i][0]);
			c[i][1] = _mm256_fmadd_ps(av, b1, c[i][1]);
		}
	}
	__m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
#pragma GCC unroll 6
	for (int i = 0; i < 6; i++) {
		if ((size_t)i >= mr)
			break;
		__m256 v0 = c[i][0], v1 = c[i][1];
		if (epi == SIMD_RELU) {
			v0 = _mm256_max_ps(v0, zero);
			v1 = _mm256_max_ps(v1, zero);
		} else if (epi != SIMD_PLAIN) {
			const float *gi = gate + (size_t)i * ldo;
			__m256 g0 = _mm256_maskload_ps(gi, m0), g1 = _mm256_maskload_ps(gi + 8, m1);
			if (epi == SIMD_GATE_RELU) {
				v0 = _mm256_and_ps(v0, _mm256_cmp_ps(g0, zero, _CMP_GT_OQ));
				v1 = _mm256_and_ps(v1, _mm256_cmp_ps(g1, zero, _CMP_GT_OQ));
			} else {
				v0 = _mm256_mul_ps(v0, _mm256_fnmadd_ps(g0, g0, one));
				v1 = _mm256_mul_ps(v1, _mm256_fnmadd_ps(g1, g1, one));
			}
		}
		float *oi = o + (size_t)i * ldo;
		if (full) {
			_mm256_storeu_ps(oi, v0);
			_mm256_storeu_ps(oi + 8, v1);
		} else {
			_mm256_maskstore_ps(oi, m0, v0);
			_mm256_maskstore_ps(oi + 8, m1, v1);
		}
	}
}

SIMD_FN void probe_simd_nn(size_t R, size_t K, size_t N, const float *a, size_t lda, const float *b, size_t ldb,
			   const float *bias, enum probe_simd_epilogue epi, const float *gate, float *out, size_t ldo)
{
	for (size_t j0 = 0; j0 < N; j0 += 16) {
		size_t nr = N - j0 < 16 ? N - j0 : 16;
		int full = nr == 16;
		__m256i m0 = lanes(nr < 8 ? nr : 8), m1 = lanes(nr > 8 ? nr - 8 : 0);
		__m256 bias0 = bias ? _mm256_maskload_ps(bias + j0, m0) : _mm256_setzero_ps();
		__m256 bias1 = bias ? _mm256_maskload_ps(bias + j0 + 8, m1) : _mm256_setzero_ps();
		for (size_t r0 = 0; r0 < R; r0 += 6) {
			size_t mr = R - r0 < 6 ? R - r0 : 6;
			const float *ar[6];
			for (size_t i = 0; i < 6; i++)
				ar[i] = a + (r0 + (i < mr ? i : mr - 1)) * lda;
			float *o = out + r0 * ldo + j0;
			const float *g = gate ? gate + r0 * ldo + j0 : NULL;
			if (full)
				nn_tile(K, ar, b + j0, ldb, bias0, bias1, m0, m1, 1, epi, g, mr, o, ldo);
			else
				nn_tile(K, ar, b + j0, ldb, bias0, bias1, m0, m1, 0, epi, g, mr, o, ldo);
		}
	}
}

/* ---- g += [a, 1]^T . d ---- */

/* One tile of g: rows k0 + kidx[0..5] (kr real ones), columns of the mask. */
SIMD_INLINE void tn_tile(size_t R, const float *a, size_t lda, const size_t kidx[6], size_t kr, const float *d,
			 size_t ldd, __m256i m0, __m256i m1, int full, float *g, size_t ldg)
{
	__m256 c[6][2];
#pragma GCC unroll 6
	for (int i = 0; i < 6; i++) {
		if ((size_t)i < kr) {
			c[i][0] = _mm256_maskload_ps(g + (size_t)i * ldg, m0);
			c[i][1] = _mm256_maskload_ps(g + (size_t)i * ldg + 8, m1);
		} else {
			c[i][0] = c[i][1] = _mm256_setzero_ps();
		}
	}
	for (size_t r = 0; r < R; r++) {
		const float *ar = a + r * lda, *dr = d + r * ldd;
		__m256 d0 = full ? _mm256_loadu_ps(dr) : _mm256_maskload_ps(dr, m0);
		__m256 d1 = full ? _mm256_loadu_ps(dr + 8) : _mm256_maskload_ps(dr + 8, m1);
#pragma GCC unroll 6
		for (int i = 0; i < 6; i++) {
			__m256 av = _mm256_broadcast_ss(ar + kidx[i]);
			c[i][0] = _mm256_fmadd_ps(av, d0, c[i][0]);
			c[i][1] = _mm256_fmadd_ps(av, d1, c[i][1]);
		}
	}
#pragma GCC unroll 6
	for (int i = 0; i < 6; i++) {
		if ((size_t)i >= kr)
			break;
		if (full) {
			_mm256_storeu_ps(g + (size_t)i * ldg, c[i][0]);
			_mm256_storeu_ps(g + (size_t)i * ldg + 8, c[i][1]);
		} else {
			_mm256_maskstore_ps(g + (size_t)i * ldg, m0, c[i][0]);
			_mm256_maskstore_ps(g + (size_t)i * ldg + 8, m1, c[i][1]);
		}
	}
}

/* Few outputs (a classifier's last layer): vectorise over k instead, nc
 * accumulators of 8 inputs each, then add them into g's column. */
SIMD_INLINE void tn_narrow(size_t R, size_t K, size_t nc, const float *a, size_t lda, const float *d, size_t ldd,
			   float *g)
{
	for (size_t k0 = 0; k0 < K; k0 += 8) {
		size_t kr = K - k0 < 8 ? K - k0 : 8;
		__m256i m = lanes(kr);
		__m256 c[PROBE_SIMD_NARROW];
#pragma GCC unroll 8
		for (size_t j = 0; j < nc; j++)
			c[j] = _mm256_setzero_ps();
		for (size_t r = 0; r < R; r++) {
			__m256 av = _mm256_maskload_ps(a + r * lda + k0, m);
#pragma GCC unroll 8
			for (size_t j = 0; j < nc; j++)
				c[j] = _mm256_fmadd_ps(av, _mm256_broadcast_ss(d + r * ldd + j), c[j]);
		}
		float t[8];
		for (size_t j = 0; j < nc; j++) {
			_mm256_storeu_ps(t, c[j]);
			for (size_t i = 0; i < kr; i++)
				g[(k0 + i) * nc + j] += t[i];
		}
	}
	for (size_t j = 0; j < nc; j++) {
		float s = 0;
		for (size_t r = 0; r < R; r++)
			s += d[r * ldd + j];
		g[K * nc + j] += s;
	}
}

SIMD_FN void probe_simd_tn(size_t R, size_t K, size_t N, const float *a, size_t lda, const float *d, size_t ldd,
			   float *g)
{
	switch (N) {
	/* a constant nc lets the compiler keep the accumulators in registers */
	case 1: tn_narrow(R, K, 1, a, lda, d, ldd, g); return;
	case 2: tn_narrow(R, K, 2, a, lda, d, ldd, g); return;
	case 3: tn_narrow(R, K, 3, a, lda, d, ldd, g); return;
	case 4: tn_narrow(R, K, 4, a, lda, d, ldd, g); return;
	case 5: tn_narrow(R, K, 5, a, lda, d, ldd, g); return;
	case 6: tn_narrow(R, K, 6, a, lda, d, ldd, g); return;
	case 7: tn_narrow(R, K, 7, a, lda, d, ldd, g); return;
	default: break;
	}
	for (size_t j0 = 0; j0 < N; j0 += 16) {
		size_t nr = N - j0 < 16 ? N - j0 : 16;
		int full = nr == 16;
		__m256i m0 = lanes(nr < 8 ? nr : 8), m1 = lanes(nr > 8 ? nr - 8 : 0);
		for (size_t k0 = 0; k0 < K; k0 += 6) {
			size_t kr = K - k0 < 6 ? K - k0 : 6, kidx[6];
			for (size_t i = 0; i < 6; i++)
				kidx[i] = k0 + (i < kr ? i : kr - 1);
			if (full)
				tn_tile(R, a, lda, kidx, kr, d + j0, ldd, m0, m1, 1, g + k0 * N + j0, N);
			else
				tn_tile(R, a, lda, kidx, kr, d + j0, ldd, m0, m1, 0, g + k0 * N + j0, N);
		}
		/* the bias row: column sums of d */
		__m256 s0 = _mm256_maskload_ps(g + K * N + j0, m0), s1 = _mm256_maskload_ps(g + K * N + j0 + 8, m1);
		for (size_t r = 0; r < R; r++) {
			s0 = _mm256_add_ps(s0, _mm256_maskload_ps(d + r * ldd + j0, m0));
			s1 = _mm256_add_ps(s1, _mm256_maskload_ps(d + r * ldd + j0 + 8, m1));
		}
		if (full) {
			_mm256_storeu_ps(g + K * N + j0, s0);
			_mm256_storeu_ps(g + K * N + j0 + 8, s1);
		} else {
			_mm256_maskstore_ps(g + K * N + j0, m0, s0);
			_mm256_maskstore_ps(g + K * N + j0 + 8, m1, s1);
		}
	}
}

/* ---- the gradient through a narrow layer: out = d . W^T, vectorised over k ---- */

SIMD_INLINE void back_narrow_n(size_t R, size_t K, size_t nc, const float *d, size_t ldd, const float *wt,
			       enum probe_simd_epilogue epi, const float *gate, float *out)
{
	__m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
	for (size_t k0 = 0; k0 < K; k0 += 8) {
		size_t kr = K - k0 < 8 ? K - k0 : 8;
		__m256i m = lanes(kr);
		__m256 w[PROBE_SIMD_NARROW];   /* this chunk of each output's weights, in registers */
#pragma GCC unroll 8
		for (size_t c = 0; c < nc; c++)
			w[c] = _mm256_maskload_ps(wt + c * (K + 1) + k0, m);
		for (size_t r = 0; r < R; r++) {
			const float *dr = d + r * ldd;
			__m256 acc = _mm256_mul_ps(_mm256_broadcast_ss(dr), w[0]);
#pragma GCC unroll 8
			for (size_t c = 1; c < nc; c++)
				acc = _mm256_fmadd_ps(_mm256_broadcast_ss(dr + c), w[c], acc);
			float *o = out + r * K + k0;
			if (epi == SIMD_RELU) {
				acc = _mm256_max_ps(acc, zero);
			} else if (epi != SIMD_PLAIN) {
				const float *gr = gate + r * K + k0;
				__m256 g = kr == 8 ? _mm256_loadu_ps(gr) : _mm256_maskload_ps(gr, m);
				if (epi == SIMD_GATE_RELU)
					acc = _mm256_and_ps(acc, _mm256_cmp_ps(g, zero, _CMP_GT_OQ));
				else
					acc = _mm256_mul_ps(acc, _mm256_fnmadd_ps(g, g, one));
			}
			/* masked stores are slow on some processors (microcoded on AMD
			 * Zen): only the tail uses one */
			if (kr == 8)
				_mm256_storeu_ps(o, acc);
			else
				_mm256_maskstore_ps(o, m, acc);
		}
	}
}

SIMD_FN void probe_simd_back_narrow(size_t R, size_t K, size_t N, const float *d, size_t ldd, const float *wt,
				    enum probe_simd_epilogue epi, const float *gate, float *out)
{
	switch (N) {
	case 1: back_narrow_n(R, K, 1, d, ldd, wt, epi, gate, out); break;
	case 2: back_narrow_n(R, K, 2, d, ldd, wt, epi, gate, out); break;
	case 3: back_narrow_n(R, K, 3, d, ldd, wt, epi, gate, out); break;
	case 4: back_narrow_n(R, K, 4, d, ldd, wt, epi, gate, out); break;
	case 5: back_narrow_n(R, K, 5, d, ldd, wt, epi, gate, out); break;
	case 6: back_narrow_n(R, K, 6, d, ldd, wt, epi, gate, out); break;
	default: back_narrow_n(R, K, 7, d, ldd, wt, epi, gate, out); break;
	}
}

/* ---- out = [a, 1] . W for a narrow W, from its transpose ---- */

SIMD_INLINE void rowdot_n(size_t R, size_t K, size_t nc, const float *a, size_t lda, const float *wt, float *out)
{
	size_t kfull = K & ~(size_t)7;
	__m256i m = lanes(K - kfull);
	for (size_t r = 0; r < R; r++) {
		const float *ar = a + r * lda;
		__m256 c[PROBE_SIMD_NARROW];
#pragma GCC unroll 8
		for (size_t j = 0; j < nc; j++)
			c[j] = _mm256_setzero_ps();
		for (size_t k = 0; k < kfull; k += 8) {
			__m256 av = _mm256_loadu_ps(ar + k);
#pragma GCC unroll 8
			for (size_t j = 0; j < nc; j++)
				c[j] = _mm256_fmadd_ps(av, _mm256_loadu_ps(wt + j * (K + 1) + k), c[j]);
		}
		if (kfull < K) {
			__m256 av = _mm256_maskload_ps(ar + kfull, m);
#pragma GCC unroll 8
			for (size_t j = 0; j < nc; j++)
				c[j] = _mm256_fmadd_ps(av, _mm256_maskload_ps(wt + j * (K + 1) + kfull, m), c[j]);
		}
		for (size_t j = 0; j < nc; j++)
			out[r * nc + j] = hsum(c[j]) + wt[j * (K + 1) + K];
	}
}

SIMD_FN void probe_simd_rowdot(size_t R, size_t K, size_t N, const float *a, size_t lda, const float *wt, float *out)
{
	switch (N) {
	case 1: rowdot_n(R, K, 1, a, lda, wt, out); break;
	case 2: rowdot_n(R, K, 2, a, lda, wt, out); break;
	case 3: rowdot_n(R, K, 3, a, lda, wt, out); break;
	case 4: rowdot_n(R, K, 4, a, lda, wt, out); break;
	case 5: rowdot_n(R, K, 5, a, lda, wt, out); break;
	case 6: rowdot_n(R, K, 6, a, lda, wt, out); break;
	default: rowdot_n(R, K, 7, a, lda, wt, out); break;
	}
}

#else /* not x86: the plain loops of probe_cpu_core.inc do all the work */

int probe_simd_available(void) { return 0; }
void probe_simd_nn(size_t R, size_t K, size_t N, const float *a, size_t lda, const float *b, size_t ldb,
		   const float *bias, enum probe_simd_epilogue epi, const float *gate, float *out, size_t ldo)
{
	(void)R, (void)K, (void)N, (void)a, (void)lda, (void)b, (void)ldb, (void)bias, (void)epi, (void)gate, (void)out,
		(void)ldo;
}
void probe_simd_tn(size_t R, size_t K, size_t N, const float *a, size_t lda, const float *d, size_t ldd, float *g)
{
	(void)R, (void)K, (void)N, (void)a, (void)lda, (void)d, (void)ldd, (void)g;
}
void probe_simd_back_narrow(size_t R, size_t K, size_t N, const float *d, size_t ldd, const float *wt,
			    enum probe_simd_epilogue epi, const float *gate, float *out)
{
	(void)R, (void)K, (void)N, (void)d, (void)ldd, (void)wt, (void)epi, (void)gate, (void)out;
}
void probe_simd_rowdot(size_t R, size_t K, size_t N, const float *a, size_t lda, const float *wt, float *out)
{
	(void)R, (void)K, (void)N, (void)a, (void)lda, (void)wt, (void)out;
}

#endif
