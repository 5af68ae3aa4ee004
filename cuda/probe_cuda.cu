/* probe_cuda.cu - the CUDA probe backend: the same job as probe_cpu.c, with the
 * same arithmetic laid out for a GPU. probe_cpu.c is the reference: each kernel
 * here says which CPU function it mirrors.
 *
 * How a step runs. The probes of a job are put in groups of the same shape
 * (layer widths and outputs); a group's parameters, optimizer state and
 * activations are arrays over its probes, so one launch serves all of them
 * (blockIdx.z, or blockIdx.y, picks the probe). Per step:
 *   k_gather          the batch's rows of X (and teacher) into Xb, once for all groups
 *   k_targets         each probe's target and training weight per row
 *   k_gemm<FWD>       hidden layers: [a, 1] . W, activation and dropout fused
 *   k_output          output layer, softmax, loss and its gradient (a warp per row)
 *   (k_output) / k_gemm<BACK>       gradient into the layer below, times f'
 *   k_grad_narrow / k_gemm<GRAD> + k_colsum   weight gradients, per chunk of rows
 *   k_batch_sums      the batch's weight, loss and accuracy per probe (double)
 *   k_update          sum of the chunks, penalties, the optimizer step (fused)
 *   k_step_end        step counter + 1
 * Nothing in a step depends on the host: the step number, the row order and the
 * learning rates are read from device memory, so one step is captured in a CUDA
 * graph and replayed (MLA_PROBE_CUDA_GRAPH=0 launches the kernels directly).
 * The host synchronises only at epoch boundaries (to upload the next row order)
 * and at the end.
 *
 * Determinism: every sum has a fixed order (chunks of rows are summed in order by
 * k_update; no atomics), so the GPU gives the same bits for the same job on the
 * same card. CPU and GPU differ in summation order and in FMA contraction; the
 * parity test (tests/gpu/parity.c) compares them within a tolerance.
 *
 * Errors: every CUDA call goes through CK(), every launch is followed by
 * LAUNCHED(); both record "file:line: call: message" and return -1. */
#include <cuda_runtime.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "pipeline/util.h"
}
#include "stages/probes/probe_internal.h"

/* ---- errors ---- */

static int cuda_fail(const char *what, const char *file, int line, cudaError_t e)
{
	return ERR_INTERNAL("%s:%d: %s: %s (%s)", file, line, what, cudaGetErrorString(e), cudaGetErrorName(e));
}

#define CK(call)                                                                 \
	do {                                                                     \
		cudaError_t e_ = (call);                                         \
		if (e_ != cudaSuccess)                                           \
			return cuda_fail(#call, __FILE__, __LINE__, e_);         \
	} while (0)

#define LAUNCHED() CK(cudaGetLastError())

/* ---- sizes ---- */

#define THREADS 256
#define NARROW 32           /* output layers with fewer classes use the warp-per-row kernels */
#define MAX_CHUNKS 32       /* the weight gradient is summed over at most this many chunks of rows */
#define INVALID_ROW 0xFFFFFFFFu

/* What a kernel needs to know about one probe (a row of its group). */
struct DevProbe {
	int job_index;              /* index in the job (the learning-rate table's column) */
	int act, optim, target, n_out;
	float momentum, beta1, beta2, rho, eps, l1, l2;
	uint32_t drop_thr;
	float drop_scale;
	unsigned long long seed;
	float temperature, alpha;
	int patience;
	const float *class_weight;  /* device arrays, NULL when absent */
	const float *row_weight;
	const uint8_t *val_mask;
	const uint8_t *binary_target;
	const uint8_t *feature_mask;
};

/* A group's shape, passed by value. */
struct Shape {
	int L;
	int dims[PROBE_MAX_LAYERS + 1];
	long long off[PROBE_MAX_LAYERS + 1];
	long long np;
};

/* ---- small device helpers ---- */

__device__ __forceinline__ float warp_sum(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

__device__ __forceinline__ float warp_max(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

/* Block-wide sum in double with a fixed tree (deterministic). */
__device__ double block_sum(double v, double *sm)
{
	sm[threadIdx.x] = v;
	__syncthreads();
	for (int s = blockDim.x / 2; s > 0; s >>= 1) {
		if ((int)threadIdx.x < s)
			sm[threadIdx.x] += sm[threadIdx.x + s];
		__syncthreads();
	}
	double r = sm[0];
	__syncthreads();
	return r;
}

__device__ __forceinline__ float nanf_dev() { return __int_as_float(0x7fc00000); }

/* ---- gather: the batch's rows (mirrors gather_block) ---- */

/* Rows come from the epoch's order at the current step, or from an explicit
 * list (validation rows). Rows past the batch are zero with row id INVALID_ROW. */
__global__ void k_gather(const float *X, const float *teacher, size_t n, int d, int C, const uint32_t *perm,
			 const int *step, long long spe, long long B, const uint32_t *list, long long list_count,
			 float *Xb, float *Tb, uint32_t *rows)
{
	size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (idx >= (size_t)B)
		return;
	long long r = (long long)idx, count;
	const uint32_t *src;
	if (list) {
		src = list;
		count = list_count;
	} else {
		long long s = *step % spe, start = s * B;
		src = perm + start;
		count = (long long)n - start < B ? (long long)n - start : B;
	}
	uint32_t row = r < count ? src[r] : INVALID_ROW;
	rows[r] = row;
	for (int k = 0; k < d; k++)
		Xb[(size_t)r * d + k] = row != INVALID_ROW ? X[(size_t)row * d + k] : 0.0f;
	if (Tb)
		for (int c = 0; c < C; c++)
			Tb[(size_t)r * C + c] = row != INVALID_ROW ? teacher[(size_t)row * C + c] : 0.0f;
}

/* ---- targets and weights (mirrors block_weights and eval_validation) ---- */

__global__ void k_targets(const DevProbe *probes, const int32_t *y, const uint32_t *rows, long long B, int eval,
			  int32_t *tgt, float *rw)
{
	long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	int p = blockIdx.y;
	if (r >= B)
		return;
	const DevProbe &pr = probes[p];
	uint32_t row = rows[r];
	int t = -1;
	float w = 0.0f;
	if (row != INVALID_ROW) {
		t = pr.target == PROBE_TARGET_BINARY ? (pr.binary_target[row] ? 1 : 0) : (y ? y[row] : -1);
		int is_val = pr.val_mask && pr.val_mask[row];
		if (t >= 0) {
			if (eval) {
				if (is_val)
					w = pr.class_weight ? pr.class_weight[t] : 1.0f;
			} else if (!is_val) {
				w = pr.row_weight ? pr.row_weight[row] : 1.0f;
				if (pr.class_weight)
					w *= pr.class_weight[t];
			}
		}
	}
	tgt[(size_t)p * B + r] = t;
	rw[(size_t)p * B + r] = w;
}

/* ---- the tiled batched product (mirrors layer_forward, layer_back, layer_grad) ---- */

enum { FWD, BACK, GRAD };

struct GemmArgs {
	int M, N;                   /* C is M x N */
	long long K;                /* reduction length (GRAD: batch rows, cut in chunks) */
	long long chunk;            /* GRAD: rows per chunk (blockIdx.z = chunk * P + probe) */
	int P;
	const float *A;             /* FWD, BACK: A[m][k] (row stride lda); GRAD: A[k][m] (the layer input) */
	long long sA, lda;          /* sA: stride between probes (0 = shared input) */
	const float *B;             /* FWD, GRAD: B[k][n]; BACK: B[n][k] (the layer's weights) */
	long long sB, ldb;
	float *C;                   /* C[m][n], row stride ldc; GRAD: the chunk's partial gradient */
	long long sC, ldc, sC_chunk;
	/* epilogue */
	const float *bias;          /* FWD: the bias row (stride sB between probes) */
	float *C2;                  /* FWD: after dropout (NULL when the group has none) */
	const float *gate;          /* BACK: output of the layer below (same layout as C) */
	int layer;                  /* FWD: this hidden layer; BACK: the one below */
	int train;                  /* FWD: dropout on */
	const int *step;
	const int *active;
	const DevProbe *probes;
};

/* C = A . B over a BM x BN tile per block of 256 threads (16 x 16, each a TM x TN
 * register tile), BK = 16 deep through shared memory. Bounds are checked on
 * every load, so any M, N, K work (one row, widths not a multiple of the tile). */
template <int MODE, int BM, int BN>
__global__ void __launch_bounds__(THREADS) k_gemm(GemmArgs g)
{
	constexpr int BK = 16, TM = BM / 16, TN = BN / 16;
	__shared__ __align__(16) float As[BK][BM + 4];
	__shared__ __align__(16) float Bs[BK][BN + 4];
	int p = blockIdx.z % g.P, chunk = blockIdx.z / g.P;
	if (!g.active[p])
		return;
	int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
	long long kb = 0, ke = g.K;
	if (MODE == GRAD) {
		kb = (long long)chunk * g.chunk;
		ke = kb + g.chunk < g.K ? kb + g.chunk : g.K;
	}
	const float *A = g.A + (size_t)p * g.sA, *B = g.B + (size_t)p * g.sB;
	int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
	float acc[TM][TN];
#pragma unroll
	for (int i = 0; i < TM; i++)
#pragma unroll
		for (int j = 0; j < TN; j++)
			acc[i][j] = 0.0f;

	for (long long k0 = kb; k0 < ke; k0 += BK) {
		/* consecutive threads read consecutive addresses in every mode */
		for (int e = threadIdx.x; e < BM * BK; e += THREADS) {
			int mi, ki;
			if (MODE == GRAD) {
				ki = e / BM;
				mi = e % BM;
			} else {
				mi = e / BK;
				ki = e % BK;
			}
			int m = m0 + mi;
			long long k = k0 + ki;
			float v = 0.0f;
			if (m < g.M && k < ke)
				v = MODE == GRAD ? A[(size_t)k * g.lda + m] : A[(size_t)m * g.lda + k];
			As[ki][mi] = v;
		}
		for (int e = threadIdx.x; e < BN * BK; e += THREADS) {
			int ni, ki;
			if (MODE == BACK) {
				ni = e / BK;
				ki = e % BK;
			} else {
				ki = e / BN;
				ni = e % BN;
			}
			int n = n0 + ni;
			long long k = k0 + ki;
			float v = 0.0f;
			if (n < g.N && k < ke)
				v = MODE == BACK ? B[(size_t)n * g.ldb + k] : B[(size_t)k * g.ldb + n];
			Bs[ki][ni] = v;
		}
		__syncthreads();
#pragma unroll
		for (int kk = 0; kk < BK; kk++) {
			float a[TM], b[TN];
#pragma unroll
			for (int i = 0; i < TM; i++)
				a[i] = As[kk][ty * TM + i];
#pragma unroll
			for (int j = 0; j < TN; j++)
				b[j] = Bs[kk][tx * TN + j];
#pragma unroll
			for (int i = 0; i < TM; i++)
#pragma unroll
				for (int j = 0; j < TN; j++)
					acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
		}
		__syncthreads();
	}

	const DevProbe &pr = g.probes[p];
	int step = g.step ? *g.step : 0;
#pragma unroll
	for (int i = 0; i < TM; i++) {
		int m = m0 + ty * TM + i;
		if (m >= g.M)
			continue;
#pragma unroll
		for (int j = 0; j < TN; j++) {
			int n = n0 + tx * TN + j;
			if (n >= g.N)
				continue;
			float v = acc[i][j];
			if (MODE == FWD) {
				v += g.bias[(size_t)p * g.sB + n];
				v = pr.act == PROBE_RELU ? (v > 0.0f ? v : 0.0f) : tanhf(v);
				size_t o = (size_t)p * g.sC + (size_t)m * g.ldc + n;
				g.C[o] = v;
				if (g.C2) {
					int keep = !g.train || !pr.drop_thr ||
						   probe_dropout_keep(pr.seed, step, g.layer, (uint32_t)m, (uint32_t)n,
								      pr.drop_thr);
					g.C2[o] = keep ? (g.train && pr.drop_thr ? v * pr.drop_scale : v) : 0.0f;
				}
			} else if (MODE == BACK) {
				size_t o = (size_t)p * g.sC + (size_t)m * g.ldc + n;
				float a = g.gate[o];
				float dd = pr.act == PROBE_RELU ? (a > 0.0f ? 1.0f : 0.0f) : 1.0f - a * a;
				if (pr.drop_thr)
					dd = probe_dropout_keep(pr.seed, step, g.layer, (uint32_t)m, (uint32_t)n, pr.drop_thr)
						     ? dd * pr.drop_scale
						     : 0.0f;
				g.C[o] = v * dd;
			} else {
				g.C[(size_t)chunk * g.sC_chunk + (size_t)p * g.sC + (size_t)m * g.ldc + n] = v;
			}
		}
	}
}

/* ---- the output layer (mirrors layer_forward + loss) ---- */

enum { OUT_TRAIN, OUT_EVAL, OUT_PROBA };

struct OutArgs {
	int M, K, C, P;
	const float *in;            /* M x K input of the layer, probe stride s_in (0 = shared) */
	long long s_in;
	const float *w;             /* group parameters; the layer is at off */
	long long np, off;
	const float *teacher;       /* Tb (M x C) or NULL */
	const int32_t *tgt;         /* P x B */
	const float *rw;
	long long B;
	float *dz;                  /* OUT_TRAIN: P x B x C gradient of the logits */
	float *loss, *correct;      /* P x B: per-row loss and 0/1 */
	float *proba;               /* OUT_PROBA: P x M x out_width */
	int out_width;
	float *dA;                  /* OUT_TRAIN, narrow layer with a hidden layer below: the
				       gradient into it, P x B x K, times f' (mirrors layer_back) */
	const float *gate;          /* that layer's output before dropout, same layout */
	int below;                  /* that hidden layer's index (the dropout hash's layer) */
	const int *step;
	const int *active;
	const DevProbe *probes;
	int mode;
};

/* dA[r][k] = (sum_c dz[c] W[k][c]) * f'(r, k) for one row, lanes over k. */
__device__ void row_back(const OutArgs &a, const DevProbe &pr, int p, int r, const float *W, const float *dz,
			 int lane)
{
	int K = a.K, C = a.C;
	size_t o = (size_t)p * a.B * K + (size_t)r * K;
	for (int k = lane; k < K; k += 32) {
		float s = 0.0f;
		for (int c = 0; c < C; c++)
			s = fmaf(dz[c], W[(size_t)k * C + c], s);
		float g = a.gate[o + k];
		float dd = pr.act == PROBE_RELU ? (g > 0.0f ? 1.0f : 0.0f) : 1.0f - g * g;
		if (pr.drop_thr)
			dd = probe_dropout_keep(pr.seed, *a.step, a.below, (uint32_t)r, (uint32_t)k, pr.drop_thr)
				     ? dd * pr.drop_scale
				     : 0.0f;
		a.dA[o + k] = s * dd;
	}
}

/* One warp per (probe, row): logits by lane-strided dot products, then the
 * softmax, loss and gradient with the classes spread over the lanes, and for a
 * narrow output layer the gradient into the hidden layer below. */
__global__ void k_output(OutArgs a)
{
	extern __shared__ float sm[];
	int warp_in_block = threadIdx.x / 32, lane = threadIdx.x % 32;
	int r = blockIdx.x * (blockDim.x / 32) + warp_in_block, p = blockIdx.y;
	if (r >= a.M || !a.active[p])
		return;
	const DevProbe &pr = a.probes[p];
	int K = a.K, C = a.C;
	float *z = sm + (size_t)warp_in_block * 2 * C, *lq = z + C;
	const float *in = a.in + (size_t)p * a.s_in + (size_t)r * K;
	const float *W = a.w + (size_t)p * a.np + a.off;
	for (int c = 0; c < C; c++) {
		float s = 0.0f;
		for (int k = lane; k < K; k += 32)
			s = fmaf(in[k], W[(size_t)k * C + c], s);
		s = warp_sum(s);
		if (lane == 0)
			z[c] = W[(size_t)K * C + c] + s;
	}
	__syncwarp();

	float m = -INFINITY;
	int best = C;
	for (int c = lane; c < C; c += 32)
		if (z[c] > m) {
			m = z[c];
			best = c;
		}
	/* first index of the maximum, as the CPU's loop finds it */
	for (int o = 16; o > 0; o >>= 1) {
		float om = __shfl_xor_sync(0xffffffffu, m, o);
		int ob = __shfl_xor_sync(0xffffffffu, best, o);
		if (om > m || (om == m && ob < best)) {
			m = om;
			best = ob;
		}
	}
	float se = 0.0f;
	for (int c = lane; c < C; c += 32)
		se += expf(z[c] - m);
	se = warp_sum(se);

	if (a.mode == OUT_PROBA) {
		float *o = a.proba + ((size_t)p * a.M + r) * a.out_width;
		for (int c = lane; c < a.out_width; c += 32)
			o[c] = c < C ? expf(z[c] - m) / se : 0.0f;
		return;
	}

	size_t row = (size_t)p * a.B + r;
	float wr = a.rw[row];
	int t = a.tgt[row];
	float *dz = a.dz ? a.dz + row * C : NULL;
	if (!(wr > 0.0f) || t < 0) {
		if (dz)
			for (int c = lane; c < C; c += 32)
				dz[c] = 0.0f;
		if (a.dA)
			for (int k = lane; k < K; k += 32)
				a.dA[(size_t)p * a.B * K + (size_t)r * K + k] = 0.0f;
		if (lane == 0)
			a.loss[row] = a.correct[row] = 0.0f;
		return;
	}
	float lse = m + logf(se), ce = lse - z[t], loss = ce;
	if (pr.target == PROBE_TARGET_SOFT) {
		float T = pr.temperature, alpha = pr.alpha;
		const float *q = a.teacher + (size_t)r * C;
		float mq = -INFINITY, ms = -INFINITY;
		for (int c = lane; c < C; c += 32) {
			lq[c] = logf(q[c] > 1e-30f ? q[c] : 1e-30f) / T;
			mq = fmaxf(mq, lq[c]);
			ms = fmaxf(ms, z[c] / T);
		}
		mq = warp_max(mq);
		ms = warp_max(ms);
		float sq = 0.0f, ss = 0.0f;
		for (int c = lane; c < C; c += 32) {
			sq += expf(lq[c] - mq);
			ss += expf(z[c] / T - ms);
		}
		float lsq = mq + logf(warp_sum(sq)), lss = ms + logf(warp_sum(ss)), kl = 0.0f;
		for (int c = lane; c < C; c += 32) {
			float l = lq[c] - lsq;
			kl += expf(l) * (l - (z[c] / T - lss));
			if (dz)   /* lq[c] is read above and not again: it keeps dz[c] for row_back */
				dz[c] = lq[c] = wr * (alpha * T * (expf(z[c] / T - lss) - expf(l)) +
						      (1.0f - alpha) * (expf(z[c] - m) / se - (c == t ? 1.0f : 0.0f)));
		}
		loss = alpha * T * T * warp_sum(kl) + (1.0f - alpha) * ce;
	} else if (dz) {
		for (int c = lane; c < C; c += 32)
			dz[c] = lq[c] = wr * (expf(z[c] - m) / se - (c == t ? 1.0f : 0.0f));
	}
	if (lane == 0) {
		a.loss[row] = loss;
		a.correct[row] = best == t ? 1.0f : 0.0f;
	}
	if (a.dA) {
		__syncwarp();
		row_back(a, pr, p, r, W, lq, lane);
	}
}

/* ---- narrow output layers: the weight gradient ---- */

/* partial[chunk][p][off + i*C + c] = sum over the chunk's rows of [in, 1][r][i] dz[r][c]  (mirrors layer_grad) */
__global__ void k_grad_narrow(int M, int K, int C, int P, long long chunk_rows, const float *in, long long s_in,
			      const float *dz, long long B, float *partial, long long np, long long off, const int *active)
{
	size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	int p = blockIdx.y % P, chunk = blockIdx.y / P;
	if (idx >= (size_t)(K + 1) * C || !active[p])
		return;
	int i = (int)(idx / C), c = (int)(idx % C);
	long long r0 = (long long)chunk * chunk_rows, r1 = r0 + chunk_rows < M ? r0 + chunk_rows : M;
	const float *x = in + (size_t)p * s_in, *d = dz + (size_t)p * B * C;
	float s = 0.0f;
	for (long long r = r0; r < r1; r++)
		s = fmaf(i < K ? x[(size_t)r * K + i] : 1.0f, d[(size_t)r * C + c], s);
	partial[((size_t)chunk * P + p) * np + off + idx] = s;
}

/* The bias row of a hidden layer's gradient: column sums of dZ per chunk. */
__global__ void k_colsum(int M, int K, int N, int P, long long chunk_rows, const float *dZ, long long s_dz,
			 float *partial, long long np, long long off, const int *active)
{
	int j = blockIdx.x * blockDim.x + threadIdx.x;
	int p = blockIdx.y % P, chunk = blockIdx.y / P;
	if (j >= N || !active[p])
		return;
	long long r0 = (long long)chunk * chunk_rows, r1 = r0 + chunk_rows < M ? r0 + chunk_rows : M;
	const float *d = dZ + (size_t)p * s_dz;
	float s = 0.0f;
	for (long long r = r0; r < r1; r++)
		s += d[(size_t)r * N + j];
	partial[((size_t)chunk * P + p) * np + off + (size_t)K * N + j] = s;
}

struct ProbeState {           /* per probe, on the device */
	long long steps;
	long long best_step;
	float best_val;
	int bad;
	int stopped;
	int n_records;
	int improved;             /* set by k_record, read by k_copy_best */
};

/* ---- per-probe sums of a batch (mirrors the cpu_sums of loss) ---- */

__global__ void k_batch_sums(int M, long long B, const float *rw, const float *loss, const float *correct, int eval,
			     const int *step, const int *active, double *wsum, float *scale, double *run,
			     ProbeState *state, float *batch_loss)
{
	__shared__ double sm[THREADS];
	int p = blockIdx.x;
	if (!active[p])
		return;
	double w = 0, l = 0, c = 0;
	for (int r = threadIdx.x; r < M; r += blockDim.x) {
		size_t o = (size_t)p * B + r;
		double wr = rw[o];
		if (wr > 0) {
			w += wr;
			l += wr * (double)loss[o];
			c += wr * (double)correct[o];
		}
	}
	w = block_sum(w, sm);
	l = block_sum(l, sm);
	c = block_sum(c, sm);
	if (threadIdx.x != 0)
		return;
	double *acc = run + (size_t)p * 6 + (eval ? 3 : 0);   /* [0..2] training, [3..5] validation */
	acc[0] += w;
	acc[1] += l;
	acc[2] += c;
	if (!eval) {
		wsum[p] = w;
		scale[p] = w > 0 ? (float)(1.0 / w) : 0.0f;
		state[p].steps = (long long)*step + 1;
		if (batch_loss)
			batch_loss[p] = w > 0 ? (float)(l / w) : nanf_dev();
	}
}

/* ---- the optimizer step (mirrors finish_grad and update) ---- */

struct StepScalars {
	float lr, c1, c2;
};

__global__ void k_update(Shape sh, int P, int chunks, const float *partial, const double *wsum, const float *scale,
			 const int *active, const DevProbe *probes, const StepScalars *table, const int *step,
			 long long spe, int job_probes, int apply, float *w, float *m, float *v, float *g, float *delta)
{
	long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	int p = blockIdx.y;
	if (i >= sh.np || !active[p])
		return;
	size_t o = (size_t)p * sh.np + i;
	const DevProbe &pr = probes[p];
	if (!(wsum[p] > 0) && apply) {   /* a batch without a weighted row leaves the probe unchanged */
		g[o] = 0.0f;
		delta[o] = 0.0f;
		return;
	}
	float gi = 0.0f;
	for (int c = 0; c < chunks; c++)
		gi += partial[((size_t)c * P + p) * sh.np + i];
	gi *= wsum[p] > 0 ? scale[p] : 1.0f;   /* gradients only: the penalties alone, as the CPU */
	int l = 0;
	while (l + 1 < sh.L && i >= sh.off[l + 1])
		l++;
	long long N = sh.dims[l + 1], k = (i - sh.off[l]) / N;
	float wi = w[o];
	if (k < sh.dims[l]) {
		if (l == 0 && pr.feature_mask && !pr.feature_mask[k])
			gi = 0.0f;
		else
			gi += pr.l2 * wi + pr.l1 * (wi > 0.0f ? 1.0f : (wi < 0.0f ? -1.0f : 0.0f));
	}
	g[o] = gi;
	if (!apply)
		return;
	StepScalars sc = table[(size_t)(*step % spe) * job_probes + pr.job_index];
	float nw = wi;
	switch (pr.optim) {
	case PROBE_SGD:
		nw = wi - sc.lr * gi;
		break;
	case PROBE_MOMENTUM:
		m[o] = pr.momentum * m[o] + gi;
		nw = wi - sc.lr * m[o];
		break;
	case PROBE_RMSPROP:
		v[o] = pr.rho * v[o] + (1.0f - pr.rho) * gi * gi;
		nw = wi - sc.lr * gi / (sqrtf(v[o]) + pr.eps);
		break;
	case PROBE_ADAGRAD:
		v[o] = v[o] + gi * gi;
		nw = wi - sc.lr * gi / (sqrtf(v[o]) + pr.eps);
		break;
	case PROBE_ADAM:
		m[o] = pr.beta1 * m[o] + (1.0f - pr.beta1) * gi;
		v[o] = pr.beta2 * v[o] + (1.0f - pr.beta2) * gi * gi;
		nw = wi - sc.c1 * m[o] / (sqrtf(v[o]) * sc.c2 + pr.eps);
		break;
	}
	delta[o] = nw - wi;
	w[o] = nw;
}

__global__ void k_step_end(int *step) { *step += 1; }

/* ---- records (mirrors record) ---- */

/* norms[p][l] = {sum g^2, sum w^2, sum delta^2} over layer l's block. */
__global__ void k_norms(Shape sh, const float *g, const float *w, const float *delta, const int *active, double *norms)
{
	__shared__ double sm[THREADS];
	int p = blockIdx.x, l = blockIdx.y;
	if (l >= sh.L || !active[p])
		return;
	double a = 0, b = 0, c = 0;
	size_t base = (size_t)p * sh.np;
	for (long long i = sh.off[l] + threadIdx.x; i < sh.off[l + 1]; i += blockDim.x) {
		double gi = g[base + i], wi = w[base + i], di = delta[base + i];
		a += gi * gi;
		b += wi * wi;
		c += di * di;
	}
	a = block_sum(a, sm);
	b = block_sum(b, sm);
	c = block_sum(c, sm);
	if (threadIdx.x == 0) {
		double *o = norms + ((size_t)p * PROBE_MAX_LAYERS + l) * 3;
		o[0] = a;
		o[1] = b;
		o[2] = c;
	}
}

/* stats[p][h] = {sum a, sum a^2, count, dead units} of hidden layer h on the batch's rows. */
__global__ void k_actstats(int h, int width, int rows, long long B, const float *act, const int *active, double *stats)
{
	__shared__ double sm[THREADS];
	int p = blockIdx.x;
	if (!active[p])
		return;
	double s1 = 0, s2 = 0, dead = 0;
	const float *a = act + (size_t)p * B * width;
	for (int j = threadIdx.x; j < width; j += blockDim.x) {
		int alive = 0;
		for (int r = 0; r < rows; r++) {
			double v = a[(size_t)r * width + j];
			s1 += v;
			s2 += v * v;
			alive |= v > 0;
		}
		dead += !alive;
	}
	s1 = block_sum(s1, sm);
	s2 = block_sum(s2, sm);
	dead = block_sum(dead, sm);
	if (threadIdx.x == 0) {
		double *o = stats + ((size_t)p * PROBE_MAX_HIDDEN + h) * 4;
		o[0] = s1;
		o[1] = s2;
		o[2] = (double)rows * width;
		o[3] = dead;
	}
}


__global__ void k_record(Shape sh, int P, long long step_done, int epoch, const StepScalars *table, long long s_in_epoch,
			 int job_probes, const DevProbe *probes, int *active, double *run, const double *norms,
			 const double *stats, int has_val, ProbeState *state, struct probe_record *records, int max_records)
{
	int p = blockIdx.x * blockDim.x + threadIdx.x;
	if (p >= P || !active[p])
		return;
	const DevProbe &pr = probes[p];
	ProbeState *st = &state[p];
	struct probe_record *rec = &records[(size_t)p * max_records + st->n_records++];
	memset(rec, 0, sizeof *rec);
	rec->step = step_done;
	rec->epoch = epoch;
	rec->lr = table[(size_t)s_in_epoch * job_probes + pr.job_index].lr;
	double *acc = run + (size_t)p * 6;
	rec->train_loss = acc[0] > 0 ? (float)(acc[1] / acc[0]) : nanf_dev();
	rec->train_acc = acc[0] > 0 ? (float)(acc[2] / acc[0]) : nanf_dev();
	acc[0] = acc[1] = acc[2] = 0;
	for (int l = 0; l < sh.L; l++) {
		const double *nm = norms + ((size_t)p * PROBE_MAX_LAYERS + l) * 3;
		rec->grad_norm[l] = (float)sqrt(nm[0]);
		rec->weight_norm[l] = (float)sqrt(nm[1]);
		rec->update_ratio[l] = nm[1] > 0 ? (float)sqrt(nm[2] / nm[1]) : 0.0f;
	}
	for (int h = 0; h + 1 < sh.L; h++) {
		const double *s = stats + ((size_t)p * PROBE_MAX_HIDDEN + h) * 4;
		double n = s[2] > 0 ? s[2] : 1, mean = s[0] / n, var = s[1] / n - mean * mean;
		rec->act_mean[h] = (float)mean;
		rec->act_std[h] = (float)sqrt(var > 0 ? var : 0);
		if (pr.act == PROBE_RELU)
			rec->dead_relu[h] = (float)s[3] / (float)sh.dims[h + 1];
	}
	rec->val_loss = rec->val_acc = nanf_dev();
	st->improved = 0;
	if (!has_val || !pr.val_mask)
		return;
	rec->val_loss = acc[3] > 0 ? (float)(acc[4] / acc[3]) : nanf_dev();
	rec->val_acc = acc[3] > 0 ? (float)(acc[5] / acc[3]) : nanf_dev();
	acc[3] = acc[4] = acc[5] = 0;
	if (isfinite(rec->val_loss) && (st->best_step < 0 || rec->val_loss < st->best_val)) {
		st->best_val = rec->val_loss;
		st->best_step = rec->step;
		st->bad = 0;
		st->improved = pr.patience > 0;
	} else if (++st->bad >= pr.patience && pr.patience > 0) {
		active[p] = 0;
		st->stopped = 1;
	}
}

/* Keep the parameters of an improved record (restore = 0), or put the best ones
 * back after training (restore = 1), for probes with early stopping. */
__global__ void k_copy_best(long long np, const DevProbe *probes, const ProbeState *state, int restore, float *w,
			    float *best)
{
	long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	int p = blockIdx.y;
	if (i >= np || probes[p].patience <= 0)
		return;
	size_t o = (size_t)p * np + i;
	if (!restore && state[p].improved)
		best[o] = w[o];
	if (restore && state[p].best_step >= 0)
		w[o] = best[o];
}

/* ---- host side ---- */

static unsigned blocks(size_t n, unsigned per) { return (unsigned)((n + per - 1) / per); }

/* A group of probes of one shape and its device arrays. */
struct Group {
	int P;
	int *ids;                   /* job index of each member */
	Shape sh;
	struct probe_shape psh;
	int C;                      /* outputs */
	int has_drop, patience_any, val_any;
	DevProbe *probes;           /* device */
	int *active;                /* device */
	float *w, *m, *v, *g, *delta, *best, *partial;
	float *act[PROBE_MAX_HIDDEN], *drop[PROBE_MAX_HIDDEN];
	float *dz, *d0, *d1;
	int32_t *tgt;
	float *rw, *loss, *correct;
	double *wsum, *run, *norms, *stats;
	float *scale, *batch_loss;
	ProbeState *state;
	struct probe_record *records;
	uint32_t *val_rows;         /* union of the members' validation rows */
	long long n_val;
};

struct Ctx {
	const struct probe_job *job;
	int P, n_groups;
	struct Group *groups;
	long long B, spe, total, K, chunk_rows;
	int chunks, d, C, max_records;
	float *X, *teacher, *Xb, *Tb;
	int32_t *y;
	uint32_t *perm, *rows;
	int *step;
	StepScalars *table;
	void **uploads;             /* device copies of per-probe host arrays, for freeing */
	const void **upload_src;
	size_t *upload_bytes;
	int n_uploads, cap_uploads;
	cudaStream_t stream;
	cudaGraphExec_t graph;
	int use_graph;
	int need_teacher;
};

static void ctx_free(struct Ctx *c)
{
	if (c->graph)
		cudaGraphExecDestroy(c->graph);
	for (int gi = 0; c->groups && gi < c->n_groups; gi++) {
		struct Group *g = &c->groups[gi];
		void *ptrs[] = {g->probes, g->active, g->w, g->m, g->v, g->g, g->delta, g->best, g->partial, g->dz, g->d0,
				g->d1, g->tgt, g->rw, g->loss, g->correct, g->wsum, g->run, g->norms, g->stats, g->scale,
				g->batch_loss, g->state, g->records, g->val_rows};
		for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
			cudaFree(ptrs[i]);
		for (int h = 0; h < PROBE_MAX_HIDDEN; h++) {
			cudaFree(g->act[h]);
			cudaFree(g->drop[h]);
		}
		free(g->ids);
	}
	free(c->groups);
	void *ptrs[] = {c->X, c->teacher, c->Xb, c->Tb, c->y, c->perm, c->rows, c->step, c->table};
	for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
		cudaFree(ptrs[i]);
	for (int i = 0; i < c->n_uploads; i++)
		cudaFree(c->uploads[i]);
	free(c->uploads);
	free(c->upload_src);
	free(c->upload_bytes);
	if (c->stream)
		cudaStreamDestroy(c->stream);
	memset(c, 0, sizeof *c);
}

/* A device copy of a host array, shared between probes that pass the same
 * pointer (a fold's mask, say) when the copy is at least as long. */
static int upload(struct Ctx *c, const void *src, size_t bytes, void **dst)
{
	*dst = NULL;
	if (!src)
		return 0;
	for (int i = 0; i < c->n_uploads; i++)
		if (c->upload_src[i] == src && c->upload_bytes[i] >= bytes) {
			*dst = c->uploads[i];
			return 0;
		}
	if (c->n_uploads == c->cap_uploads) {
		c->cap_uploads = c->cap_uploads ? 2 * c->cap_uploads : 16;
		c->uploads = (void **)xrealloc(c->uploads, (size_t)c->cap_uploads * sizeof *c->uploads);
		c->upload_src = (const void **)xrealloc(c->upload_src, (size_t)c->cap_uploads * sizeof *c->upload_src);
		c->upload_bytes = (size_t *)xrealloc(c->upload_bytes, (size_t)c->cap_uploads * sizeof *c->upload_bytes);
	}
	CK(cudaMalloc(dst, bytes));
	c->uploads[c->n_uploads] = *dst;
	c->upload_bytes[c->n_uploads] = bytes;
	c->upload_src[c->n_uploads++] = src;
	CK(cudaMemcpy(*dst, src, bytes, cudaMemcpyHostToDevice));
	return 0;
}

template <typename T>
static int dalloc(T **p, size_t count)
{
	*p = NULL;
	CK(cudaMalloc((void **)p, (count ? count : 1) * sizeof(T)));
	CK(cudaMemset(*p, 0, (count ? count : 1) * sizeof(T)));
	return 0;
}

static int same_shape(const struct probe_shape *a, const struct probe_shape *b)
{
	if (a->n_layers != b->n_layers)
		return 0;
	for (int l = 0; l <= a->n_layers; l++)
		if (a->dims[l] != b->dims[l])
			return 0;
	return 1;
}

static void shape_dev(const struct probe_shape *s, Shape *d)
{
	memset(d, 0, sizeof *d);
	d->L = s->n_layers;
	for (int l = 0; l <= s->n_layers; l++) {
		d->dims[l] = s->dims[l];
		d->off[l] = (long long)s->off[l];
	}
	d->np = (long long)s->n_params;
}

/* Buffers of a group for batches of B rows (training or prediction). */
static int group_buffers(struct Ctx *c, struct Group *g, long long B, int training)
{
	size_t P = (size_t)g->P, np = g->psh.n_params;
	int widest = 1;
	for (int h = 0; h + 1 < g->sh.L; h++) {
		size_t n = P * (size_t)B * g->sh.dims[h + 1];
		if (dalloc(&g->act[h], n) < 0 || (g->has_drop && dalloc(&g->drop[h], n) < 0))
			return -1;
		widest = g->sh.dims[h + 1] > widest ? g->sh.dims[h + 1] : widest;
	}
	if (dalloc(&g->w, P * np) < 0 || dalloc(&g->active, P) < 0 || dalloc(&g->tgt, P * B) < 0 ||
	    dalloc(&g->rw, P * B) < 0 || dalloc(&g->loss, P * B) < 0 || dalloc(&g->correct, P * B) < 0)
		return -1;
	if (!training)
		return 0;
	if (dalloc(&g->m, P * np) < 0 || dalloc(&g->v, P * np) < 0 || dalloc(&g->g, P * np) < 0 ||
	    dalloc(&g->delta, P * np) < 0 || dalloc(&g->partial, (size_t)c->chunks * P * np) < 0 ||
	    dalloc(&g->dz, P * (size_t)B * g->C) < 0 || dalloc(&g->d0, P * (size_t)B * widest) < 0 ||
	    dalloc(&g->d1, P * (size_t)B * widest) < 0 || dalloc(&g->wsum, P) < 0 || dalloc(&g->run, P * 6) < 0 ||
	    dalloc(&g->norms, P * PROBE_MAX_LAYERS * 3) < 0 || dalloc(&g->stats, P * PROBE_MAX_HIDDEN * 4) < 0 ||
	    dalloc(&g->scale, P) < 0 || dalloc(&g->batch_loss, P) < 0 || dalloc(&g->state, P) < 0 ||
	    dalloc(&g->records, P * (size_t)c->max_records) < 0)
		return -1;
	if (g->patience_any && dalloc(&g->best, P * np) < 0)
		return -1;
	return 0;
}

/* Group the probes by shape, upload the data and every per-probe array. */
static int ctx_setup(struct Ctx *c, const struct probe_job *job, int training)
{
	memset(c, 0, sizeof *c);
	c->job = job;
	c->P = (int)job->n_probes;
	c->B = (long long)job->batch_size;
	c->spe = probe_steps_per_epoch(job);
	c->total = probe_total_steps(job);
	c->K = probe_record_period(job);
	c->chunks = (int)((c->B + 255) / 256);
	if (c->chunks > MAX_CHUNKS)
		c->chunks = MAX_CHUNKS;
	c->chunk_rows = (c->B + c->chunks - 1) / c->chunks;
	c->d = (int)job->data->d;
	c->C = job->data->n_classes;
	c->max_records = (int)probe_max_records(job);
	const char *env = getenv("MLA_PROBE_CUDA_GRAPH");
	c->use_graph = !(env && !strcmp(env, "0"));
	CK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));

	const struct probe_data *d = job->data;
	size_t n = d->n;
	if (dalloc(&c->X, n * c->d) < 0 || dalloc(&c->Xb, (size_t)c->B * c->d) < 0 ||
	    dalloc(&c->rows, (size_t)c->B) < 0 || dalloc(&c->perm, n) < 0 || dalloc(&c->step, 1) < 0 ||
	    dalloc(&c->table, (size_t)c->spe * c->P) < 0)
		return -1;
	CK(cudaMemcpy(c->X, d->x, n * c->d * sizeof(float), cudaMemcpyHostToDevice));
	if (d->y) {
		if (dalloc(&c->y, n) < 0)
			return -1;
		CK(cudaMemcpy(c->y, d->y, n * sizeof(int32_t), cudaMemcpyHostToDevice));
	}
	for (int p = 0; p < c->P; p++)
		c->need_teacher |= job->specs[p].target == PROBE_TARGET_SOFT;
	if (c->need_teacher) {
		if (dalloc(&c->teacher, n * c->C) < 0 || dalloc(&c->Tb, (size_t)c->B * c->C) < 0)
			return -1;
		CK(cudaMemcpy(c->teacher, d->teacher, n * c->C * sizeof(float), cudaMemcpyHostToDevice));
	}

	/* groups of equal shape, in the order their first member appears */
	c->groups = (struct Group *)xcalloc((size_t)c->P, sizeof *c->groups);
	struct probe_shape *shapes = (struct probe_shape *)xmalloc((size_t)c->P * sizeof *shapes);
	int *group_of = (int *)xmalloc((size_t)c->P * sizeof(int));
	for (int p = 0; p < c->P; p++) {
		probe_shape_of(job, (size_t)p, &shapes[p]);
		int gi = 0;
		while (gi < c->n_groups && !same_shape(&c->groups[gi].psh, &shapes[p]))
			gi++;
		if (gi == c->n_groups) {
			c->groups[gi].psh = shapes[p];
			c->groups[gi].ids = (int *)xmalloc((size_t)c->P * sizeof(int));
			c->n_groups++;
		}
		c->groups[gi].ids[c->groups[gi].P++] = p;
		group_of[p] = gi;
	}
	int rc = 0;
	for (int gi = 0; gi < c->n_groups && rc == 0; gi++) {
		struct Group *g = &c->groups[gi];
		shape_dev(&g->psh, &g->sh);
		g->C = g->psh.dims[g->psh.n_layers];
		DevProbe *hp = (DevProbe *)xcalloc((size_t)g->P, sizeof *hp);
		for (int q = 0; q < g->P && rc == 0; q++) {
			const struct probe_spec *s = &job->specs[g->ids[q]];
			DevProbe *dp = &hp[q];
			dp->job_index = g->ids[q];
			dp->act = s->act;
			dp->optim = s->optim;
			dp->target = s->target;
			dp->n_out = g->C;
			dp->momentum = s->momentum;
			dp->beta1 = s->beta1;
			dp->beta2 = s->beta2;
			dp->rho = s->rho;
			dp->eps = s->eps;
			dp->l1 = s->l1;
			dp->l2 = s->l2;
			dp->drop_thr = g->psh.n_layers > 1 ? probe_drop_threshold(s->dropout) : 0;
			dp->drop_scale = (float)(1.0 / (1.0 - (double)s->dropout));
			dp->seed = s->seed;
			dp->temperature = s->temperature;
			dp->alpha = s->alpha;
			dp->patience = s->patience;
			g->has_drop |= dp->drop_thr != 0;
			g->patience_any |= s->patience > 0;
			g->val_any |= s->val_mask != NULL;
			void *ptr;
			rc |= upload(c, s->class_weight, (size_t)g->C * sizeof(float), &ptr);
			dp->class_weight = (const float *)ptr;
			rc |= upload(c, s->row_weight, n * sizeof(float), &ptr);
			dp->row_weight = (const float *)ptr;
			rc |= upload(c, s->val_mask, n, &ptr);
			dp->val_mask = (const uint8_t *)ptr;
			rc |= upload(c, s->binary_target, n, &ptr);
			dp->binary_target = (const uint8_t *)ptr;
			rc |= upload(c, s->feature_mask, (size_t)c->d, &ptr);
			dp->feature_mask = (const uint8_t *)ptr;
		}
		if (rc == 0)
			rc = group_buffers(c, g, c->B, training);
		if (rc == 0)
			rc = dalloc(&g->probes, (size_t)g->P);
		if (rc == 0 && cudaMemcpy(g->probes, hp, (size_t)g->P * sizeof *hp, cudaMemcpyHostToDevice) != cudaSuccess)
			rc = ERR_INTERNAL("%s:%d: copying the probes' settings to the device failed", __FILE__, __LINE__);
		free(hp);
		if (rc)
			break;
		/* initial parameters (the CPU's draw), every probe active */
		float *hw = (float *)xmalloc(g->psh.n_params * (size_t)g->P * sizeof(float));
		int *ones = (int *)xmalloc((size_t)g->P * sizeof(int));
		for (int q = 0; q < g->P; q++) {
			probe_init_params(&job->specs[g->ids[q]], &g->psh, hw + (size_t)q * g->psh.n_params);
			ones[q] = 1;
		}
		if (cudaMemcpy(g->w, hw, g->psh.n_params * (size_t)g->P * sizeof(float), cudaMemcpyHostToDevice) !=
			    cudaSuccess ||
		    cudaMemcpy(g->active, ones, (size_t)g->P * sizeof(int), cudaMemcpyHostToDevice) != cudaSuccess)
			rc = ERR_INTERNAL("%s:%d: copying initial parameters to the device failed", __FILE__, __LINE__);
		free(hw);
		free(ones);
		if (rc || !training)
			continue;
		ProbeState *hs = (ProbeState *)xcalloc((size_t)g->P, sizeof *hs);
		for (int q = 0; q < g->P; q++) {
			hs[q].best_step = -1;
			hs[q].best_val = NAN;
		}
		if (cudaMemcpy(g->state, hs, (size_t)g->P * sizeof *hs, cudaMemcpyHostToDevice) != cudaSuccess)
			rc = ERR_INTERNAL("%s:%d: copying probe state to the device failed", __FILE__, __LINE__);
		free(hs);
		/* the union of the members' validation rows, evaluated together at records */
		if (rc == 0 && g->val_any) {
			uint32_t *rows = (uint32_t *)xmalloc(n * sizeof *rows);
			long long nv = 0;
			for (size_t r = 0; r < n; r++) {
				int any = 0;
				for (int q = 0; q < g->P && !any; q++) {
					const struct probe_spec *s = &job->specs[g->ids[q]];
					any = s->val_mask && s->val_mask[r];
				}
				if (any)
					rows[nv++] = (uint32_t)r;
			}
			g->n_val = nv;
			if (dalloc(&g->val_rows, (size_t)nv) < 0 ||
			    cudaMemcpy(g->val_rows, rows, (size_t)nv * sizeof *rows, cudaMemcpyHostToDevice) != cudaSuccess)
				rc = -1;
			free(rows);
		}
	}
	free(shapes);
	free(group_of);
	/* the zeroing cudaMemsets above run on the legacy stream, which our
	 * non-blocking stream does not wait for */
	if (rc == 0)
		CK(cudaDeviceSynchronize());
	return rc;
}

/* ---- enqueueing the kernels of a step ---- */

/* Forward pass of a group over the M rows in Xb (train: dropout on). */
static int enqueue_forward(struct Ctx *c, struct Group *g, int M, int train)
{
	const Shape &sh = g->sh;
	const float *in = c->Xb;
	long long s_in = 0;
	for (int h = 0; h + 1 < sh.L; h++) {
		int K = sh.dims[h], N = sh.dims[h + 1];
		GemmArgs a;
		memset(&a, 0, sizeof a);
		a.M = M;
		a.N = N;
		a.K = K;
		a.P = g->P;
		a.A = in;
		a.sA = s_in;
		a.lda = K;
		a.B = g->w + sh.off[h];
		a.sB = sh.np;
		a.ldb = N;
		a.bias = g->w + sh.off[h] + (long long)K * N;
		a.C = g->act[h];
		a.sC = c->B * N;
		a.ldc = N;
		a.C2 = g->has_drop ? g->drop[h] : NULL;
		a.layer = h;
		a.train = train;
		a.step = c->step;
		a.active = g->active;
		a.probes = g->probes;
		dim3 grid(blocks((size_t)M, 64), blocks((size_t)N, 64), (unsigned)g->P);
		k_gemm<FWD, 64, 64><<<grid, THREADS, 0, c->stream>>>(a);
		LAUNCHED();
		in = g->has_drop ? g->drop[h] : g->act[h];
		s_in = c->B * N;
	}
	return 0;
}

/* The input of layer l (Xb for layer 0) and its probe stride. */
static const float *layer_input(struct Ctx *c, struct Group *g, int l, long long *stride)
{
	if (l == 0) {
		*stride = 0;
		return c->Xb;
	}
	*stride = c->B * g->sh.dims[l];
	return g->has_drop ? g->drop[l - 1] : g->act[l - 1];
}

static int enqueue_output(struct Ctx *c, struct Group *g, int M, int mode, float *proba, int out_width)
{
	const Shape &sh = g->sh;
	int L = sh.L;
	OutArgs o;
	memset(&o, 0, sizeof o);
	o.M = M;
	o.K = sh.dims[L - 1];
	o.C = g->C;
	o.P = g->P;
	o.in = layer_input(c, g, L - 1, &o.s_in);
	o.w = g->w;
	o.np = sh.np;
	o.off = sh.off[L - 1];
	o.teacher = c->Tb;
	o.tgt = g->tgt;
	o.rw = g->rw;
	o.B = c->B;
	o.dz = mode == OUT_TRAIN ? g->dz : NULL;
	o.loss = g->loss;
	o.correct = g->correct;
	o.proba = proba;
	o.out_width = out_width;
	o.active = g->active;
	o.probes = g->probes;
	o.mode = mode;
	o.step = c->step;
	if (mode == OUT_TRAIN && L > 1 && g->C < NARROW) {
		o.dA = g->d0;
		o.gate = g->act[L - 2];
		o.below = L - 2;
	}
	int warps = THREADS / 32;
	dim3 grid(blocks((size_t)M, (unsigned)warps), (unsigned)g->P);
	k_output<<<grid, THREADS, (size_t)warps * 2 * g->C * sizeof(float), c->stream>>>(o);
	LAUNCHED();
	return 0;
}

/* Backward pass: weight gradients into g->partial, per chunk of rows. */
static int enqueue_backward(struct Ctx *c, struct Group *g)
{
	const Shape &sh = g->sh;
	int L = sh.L, M = (int)c->B;
	unsigned PS = (unsigned)(g->P * c->chunks);
	/* the output layer */
	{
		int K = sh.dims[L - 1], C = g->C;
		long long s_in;
		const float *in = layer_input(c, g, L - 1, &s_in);
		if (C < NARROW) {
			k_grad_narrow<<<dim3(blocks((size_t)(K + 1) * C, THREADS), PS), THREADS, 0, c->stream>>>(
				M, K, C, g->P, c->chunk_rows, in, s_in, g->dz, c->B, g->partial, sh.np, sh.off[L - 1],
				g->active);
			LAUNCHED();
		}
		/* the gradient into the layer below came out of k_output, in g->d0 */
	}
	/* layers through the tiled product: hidden layers, and wide output layers */
	float *d = g->d0;
	for (int l = L - 1; l >= 0; l--) {
		int K = sh.dims[l], N = sh.dims[l + 1];
		const float *dZ;
		long long s_dz;
		if (l == L - 1) {
			if (g->C < NARROW)
				continue;   /* done above */
			dZ = g->dz;
			s_dz = c->B * N;
		} else {
			dZ = d;
			s_dz = c->B * N;
		}
		long long s_in;
		const float *in = layer_input(c, g, l, &s_in);
		GemmArgs a;
		memset(&a, 0, sizeof a);
		a.M = K;
		a.N = N;
		a.K = M;
		a.chunk = c->chunk_rows;
		a.P = g->P;
		a.A = in;
		a.sA = s_in;
		a.lda = K;
		a.B = dZ;
		a.sB = s_dz;
		a.ldb = N;
		a.C = g->partial + sh.off[l];
		a.sC = sh.np;
		a.ldc = N;
		a.sC_chunk = (long long)g->P * sh.np;
		a.active = g->active;
		a.probes = g->probes;
		k_gemm<GRAD, 32, 64><<<dim3(blocks((size_t)K, 32), blocks((size_t)N, 64), PS), THREADS, 0, c->stream>>>(a);
		LAUNCHED();
		k_colsum<<<dim3(blocks((size_t)N, THREADS), PS), THREADS, 0, c->stream>>>(
			M, K, N, g->P, c->chunk_rows, dZ, s_dz, g->partial, sh.np, sh.off[l], g->active);
		LAUNCHED();
		if (l == 0)
			break;
		/* into the layer below: dA = dZ . W^T, times f' */
		float *out = d == g->d0 ? g->d1 : g->d0;
		if (l == L - 1)
			out = g->d0;
		GemmArgs b;
		memset(&b, 0, sizeof b);
		b.M = M;
		b.N = K;
		b.K = N;
		b.P = g->P;
		b.A = dZ;
		b.sA = s_dz;
		b.lda = N;
		b.B = g->w + sh.off[l];
		b.sB = sh.np;
		b.ldb = N;
		b.C = out;
		b.sC = c->B * K;
		b.ldc = K;
		b.gate = g->act[l - 1];
		b.layer = l - 1;
		b.step = c->step;
		b.active = g->active;
		b.probes = g->probes;
		k_gemm<BACK, 64, 64><<<dim3(blocks((size_t)M, 64), blocks((size_t)K, 64), (unsigned)g->P), THREADS, 0,
				       c->stream>>>(b);
		LAUNCHED();
		d = out;
	}
	return 0;
}

/* One training step of every group (apply = 0: gradients only). */
static int enqueue_step(struct Ctx *c, int apply)
{
	k_gather<<<blocks((size_t)c->B, THREADS), THREADS, 0, c->stream>>>(
		c->X, c->teacher, c->job->data->n, c->d, c->C, c->perm, c->step, c->spe, c->B, NULL, 0, c->Xb, c->Tb,
		c->rows);
	LAUNCHED();
	for (int gi = 0; gi < c->n_groups; gi++) {
		struct Group *g = &c->groups[gi];
		k_targets<<<dim3(blocks((size_t)c->B, THREADS), (unsigned)g->P), THREADS, 0, c->stream>>>(
			g->probes, c->y, c->rows, c->B, 0, g->tgt, g->rw);
		LAUNCHED();
		if (enqueue_forward(c, g, (int)c->B, 1) < 0 || enqueue_output(c, g, (int)c->B, OUT_TRAIN, NULL, 0) < 0 ||
		    enqueue_backward(c, g) < 0)
			return -1;
		k_batch_sums<<<(unsigned)g->P, THREADS, 0, c->stream>>>((int)c->B, c->B, g->rw, g->loss, g->correct, 0,
									 c->step, g->active, g->wsum, g->scale, g->run,
									 g->state, g->batch_loss);
		LAUNCHED();
		k_update<<<dim3(blocks((size_t)g->sh.np, THREADS), (unsigned)g->P), THREADS, 0, c->stream>>>(
			g->sh, g->P, c->chunks, g->partial, g->wsum, g->scale, g->active, g->probes, c->table, c->step,
			c->spe, c->P, apply, g->w, g->m, g->v, g->g, g->delta);
		LAUNCHED();
	}
	k_step_end<<<1, 1, 0, c->stream>>>(c->step);
	LAUNCHED();
	return 0;
}

/* Records after step `step` (0-based) of rows_in_step rows. */
static int enqueue_record(struct Ctx *c, long long step, int rows_in_step)
{
	for (int gi = 0; gi < c->n_groups; gi++) {
		struct Group *g = &c->groups[gi];
		k_norms<<<dim3((unsigned)g->P, (unsigned)g->sh.L), THREADS, 0, c->stream>>>(g->sh, g->g, g->w, g->delta,
											      g->active, g->norms);
		LAUNCHED();
		for (int h = 0; h + 1 < g->sh.L; h++) {
			k_actstats<<<(unsigned)g->P, THREADS, 0, c->stream>>>(h, g->sh.dims[h + 1], rows_in_step, c->B,
									       g->act[h], g->active, g->stats);
			LAUNCHED();
		}
		/* validation: the union of the members' rows, a batch at a time */
		for (long long v0 = 0; v0 < g->n_val; v0 += c->B) {
			long long cnt = g->n_val - v0 < c->B ? g->n_val - v0 : c->B;
			k_gather<<<blocks((size_t)c->B, THREADS), THREADS, 0, c->stream>>>(
				c->X, c->teacher, c->job->data->n, c->d, c->C, c->perm, c->step, c->spe, c->B,
				g->val_rows + v0, cnt, c->Xb, c->Tb, c->rows);
			LAUNCHED();
			k_targets<<<dim3(blocks((size_t)c->B, THREADS), (unsigned)g->P), THREADS, 0, c->stream>>>(
				g->probes, c->y, c->rows, c->B, 1, g->tgt, g->rw);
			LAUNCHED();
			if (enqueue_forward(c, g, (int)cnt, 0) < 0 || enqueue_output(c, g, (int)cnt, OUT_EVAL, NULL, 0) < 0)
				return -1;
			k_batch_sums<<<(unsigned)g->P, THREADS, 0, c->stream>>>((int)cnt, c->B, g->rw, g->loss, g->correct,
										 1, c->step, g->active, g->wsum, g->scale,
										 g->run, g->state, NULL);
			LAUNCHED();
		}
		long long s_in_epoch = step % c->spe;
		k_record<<<blocks((size_t)g->P, 64), 64, 0, c->stream>>>(
			g->sh, g->P, step + 1, (int)(step / c->spe), c->table, s_in_epoch, c->P, g->probes, g->active, g->run,
			g->norms, g->stats, g->val_any, g->state, g->records, c->max_records);
		LAUNCHED();
		if (g->patience_any) {
			k_copy_best<<<dim3(blocks((size_t)g->sh.np, THREADS), (unsigned)g->P), THREADS, 0, c->stream>>>(
				g->sh.np, g->probes, g->state, 0, g->w, g->best);
			LAUNCHED();
		}
	}
	return 0;
}

/* The epoch's row order and learning-rate table (the same functions as the CPU). */
static int upload_epoch(struct Ctx *c, int epoch, uint32_t *perm, StepScalars *table)
{
	const struct probe_job *job = c->job;
	probe_epoch_order(job->seed, epoch, job->data->n, perm);
	for (long long s = 0; s < c->spe; s++)
		for (int p = 0; p < c->P; p++) {
			struct probe_step_scalars sc;
			probe_step_scalars(&job->specs[p], (long)((long long)epoch * c->spe + s), (long)c->total, (long)c->spe,
					   &sc);
			table[s * c->P + p] = StepScalars{sc.lr, sc.c1, sc.c2};
		}
	/* the previous epoch's kernels must be done reading */
	CK(cudaStreamSynchronize(c->stream));
	CK(cudaMemcpy(c->perm, perm, job->data->n * sizeof *perm, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(c->table, table, (size_t)c->spe * c->P * sizeof *table, cudaMemcpyHostToDevice));
	return 0;
}

/* One step: the captured graph, or the kernels one by one. */
static int run_step(struct Ctx *c)
{
	if (c->use_graph && !c->graph) {
		cudaGraph_t graph = NULL;
		CK(cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal));
		int rc = enqueue_step(c, 1);
		cudaError_t e = cudaStreamEndCapture(c->stream, &graph);
		if (rc == 0 && e == cudaSuccess && cudaGraphInstantiate(&c->graph, graph, 0) == cudaSuccess) {
			cudaGraphDestroy(graph);
		} else {
			/* capture is an optimisation: fall back to direct launches */
			if (graph)
				cudaGraphDestroy(graph);
			c->graph = NULL;
			c->use_graph = 0;
			(void)cudaGetLastError();
			mla_error_clear();
		}
	}
	if (c->graph) {
		CK(cudaGraphLaunch(c->graph, c->stream));
		return 0;
	}
	return enqueue_step(c, 1);
}

static int download_result(struct Ctx *c, struct probe_result *r)
{
	CK(cudaStreamSynchronize(c->stream));
	for (int gi = 0; gi < c->n_groups; gi++) {
		struct Group *g = &c->groups[gi];
		size_t np = g->psh.n_params;
		ProbeState *hs = (ProbeState *)xmalloc((size_t)g->P * sizeof *hs);
		float *hw = (float *)xmalloc(np * (size_t)g->P * sizeof(float));
		struct probe_record *hr =
			(struct probe_record *)xmalloc((size_t)g->P * c->max_records * sizeof(struct probe_record));
		int rc = 0;
		if (cudaMemcpy(hs, g->state, (size_t)g->P * sizeof *hs, cudaMemcpyDeviceToHost) != cudaSuccess ||
		    cudaMemcpy(hw, g->w, np * (size_t)g->P * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess ||
		    cudaMemcpy(hr, g->records, (size_t)g->P * c->max_records * sizeof *hr, cudaMemcpyDeviceToHost) !=
			    cudaSuccess)
			rc = ERR_INTERNAL("%s:%d: copying the trained probes back failed", __FILE__, __LINE__);
		for (int q = 0; q < g->P && rc == 0; q++) {
			struct probe_trained *t = &r->probes[g->ids[q]];
			memcpy(t->params, hw + (size_t)q * np, np * sizeof(float));
			t->n_records = (size_t)hs[q].n_records;
			memcpy(t->records, hr + (size_t)q * c->max_records, t->n_records * sizeof *hr);
			t->steps = (long)hs[q].steps;
			t->stopped_early = hs[q].stopped;
			t->best_step = (long)hs[q].best_step;
			t->best_val_loss = hs[q].best_val;
		}
		free(hs);
		free(hw);
		free(hr);
		if (rc)
			return -1;
	}
	return 0;
}

static struct probe_result *cuda_train(const struct probe_backend *b, const struct probe_job *job)
{
	(void)b;
	if (probe_job_check(job) < 0)
		return NULL;
	struct Ctx c;
	double t_setup = now_seconds();
	struct probe_result *r = probe_result_new(job, "cuda");
	uint32_t *perm = (uint32_t *)xmalloc(job->data->n * sizeof *perm);
	StepScalars *table = NULL;
	int rc = ctx_setup(&c, job, 1);
	if (rc == 0)
		table = (StepScalars *)xmalloc((size_t)c.spe * c.P * sizeof *table);
	size_t n = job->data->n;
	/* MLA_PROBE_CUDA_TIMING=1: where the time goes (setup and uploads, the steps,
	 * the download), on stderr, for the benchmark's notes */
	const char *timing = getenv("MLA_PROBE_CUDA_TIMING");
	double t_steps = 0;
	for (int e = 0; e < job->epochs && rc == 0; e++) {
		rc = upload_epoch(&c, e, perm, table);
		if (e == 0)
			t_steps = now_seconds();
		for (long long s = 0; s < c.spe && rc == 0; s++) {
			long long step = (long long)e * c.spe + s;
			rc = run_step(&c);
			int rows = (int)((long long)n - s * c.B < c.B ? (long long)n - s * c.B : c.B);
			if (rc == 0 && ((step + 1) % c.K == 0 || step + 1 == c.total))
				rc = enqueue_record(&c, step, rows);
		}
	}
	if (rc == 0) {
		for (int gi = 0; gi < c.n_groups && rc == 0; gi++) {
			struct Group *g = &c.groups[gi];
			if (!g->patience_any)
				continue;
			k_copy_best<<<dim3(blocks((size_t)g->sh.np, THREADS), (unsigned)g->P), THREADS, 0, c.stream>>>(
				g->sh.np, g->probes, g->state, 1, g->w, g->best);
			if (cudaGetLastError() != cudaSuccess)
				rc = ERR_INTERNAL("%s:%d: restoring the best parameters failed", __FILE__, __LINE__);
		}
	}
	double t_end_steps = 0;
	if (rc == 0 && timing && cudaStreamSynchronize(c.stream) == cudaSuccess)
		t_end_steps = now_seconds();
	if (rc == 0)
		rc = download_result(&c, r);
	if (rc == 0 && timing && *timing == '1')
		fprintf(stderr, "cuda_train: setup %.1f ms, steps %.1f ms (%lld steps, graph %s), download %.1f ms\n",
			(t_steps - t_setup) * 1e3, (t_end_steps - t_steps) * 1e3, (long long)c.total,
			c.graph ? "on" : "off", (now_seconds() - t_end_steps) * 1e3);
	free(perm);
	free(table);
	ctx_free(&c);
	if (rc) {
		probe_result_free(r);
		return NULL;
	}
	return r;
}

static int cuda_gradients(const struct probe_backend *b, const struct probe_job *job, float *grad, float *loss)
{
	(void)b;
	if (probe_job_check(job) < 0)
		return -1;
	struct Ctx c;
	uint32_t *perm = (uint32_t *)xmalloc(job->data->n * sizeof *perm);
	StepScalars *table = NULL;
	int rc = ctx_setup(&c, job, 1);
	if (rc == 0) {
		table = (StepScalars *)xmalloc((size_t)c.spe * c.P * sizeof *table);
		rc = upload_epoch(&c, 0, perm, table);
	}
	if (rc == 0)
		rc = enqueue_step(&c, 0);
	if (rc == 0 && cudaStreamSynchronize(c.stream) != cudaSuccess)
		rc = ERR_INTERNAL("%s:%d: the gradient step failed: %s", __FILE__, __LINE__,
				  cudaGetErrorString(cudaGetLastError()));
	/* concatenated in job order */
	size_t *off = (size_t *)xmalloc(job->n_probes * sizeof *off), total = 0;
	for (size_t p = 0; p < job->n_probes; p++) {
		struct probe_shape sh;
		probe_shape_of(job, p, &sh);
		off[p] = total;
		total += sh.n_params;
	}
	for (int gi = 0; gi < c.n_groups && rc == 0; gi++) {
		struct Group *g = &c.groups[gi];
		size_t np = g->psh.n_params;
		float *hg = (float *)xmalloc(np * (size_t)g->P * sizeof(float)), *hl = (float *)xmalloc((size_t)g->P * sizeof(float));
		if (cudaMemcpy(hg, g->g, np * (size_t)g->P * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess ||
		    cudaMemcpy(hl, g->batch_loss, (size_t)g->P * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess)
			rc = ERR_INTERNAL("%s:%d: copying gradients back failed", __FILE__, __LINE__);
		for (int q = 0; q < g->P && rc == 0; q++) {
			memcpy(grad + off[g->ids[q]], hg + (size_t)q * np, np * sizeof(float));
			loss[g->ids[q]] = hl[q];
		}
		free(hg);
		free(hl);
	}
	free(off);
	free(perm);
	free(table);
	ctx_free(&c);
	return rc ? -1 : 0;
}

/* ---- prediction ---- */

#define PREDICT_ROWS 8192

static int cuda_predict(const struct probe_backend *b, const struct probe_result *res, const float *x, size_t n,
			float *out)
{
	(void)b;
	if (n == 0)
		return 0;
	/* a pretend job of one row per chunk: shapes and activations come from the result */
	struct Ctx c;
	memset(&c, 0, sizeof c);
	int rc = 0;
	c.P = (int)res->n_probes;
	c.B = PREDICT_ROWS;
	c.d = res->probes[0].dims[0];
	c.chunks = 1;
	if (cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking) != cudaSuccess)
		return ERR_INTERNAL("%s:%d: cudaStreamCreate failed", __FILE__, __LINE__);
	c.groups = (struct Group *)xcalloc((size_t)c.P, sizeof *c.groups);
	for (int p = 0; p < c.P; p++) {
		const struct probe_trained *t = &res->probes[p];
		struct probe_shape sh;
		memset(&sh, 0, sizeof sh);
		sh.n_layers = t->n_layers;
		size_t off = 0;
		for (int l = 0; l <= t->n_layers; l++) {
			sh.dims[l] = t->dims[l];
			sh.off[l] = off;
			if (l < t->n_layers)
				off += (size_t)(t->dims[l] + 1) * (size_t)t->dims[l + 1];
		}
		sh.n_params = off;
		int gi = 0;
		while (gi < c.n_groups && !same_shape(&c.groups[gi].psh, &sh))
			gi++;
		if (gi == c.n_groups) {
			c.groups[gi].psh = sh;
			c.groups[gi].ids = (int *)xmalloc((size_t)c.P * sizeof(int));
			c.n_groups++;
		}
		c.groups[gi].ids[c.groups[gi].P++] = p;
	}
	if (dalloc(&c.Xb, (size_t)c.B * c.d) < 0 || dalloc(&c.step, 1) < 0)
		rc = -1;
	float *dout = NULL;
	size_t W = (size_t)res->out_width;
	for (int gi = 0; gi < c.n_groups && rc == 0; gi++) {
		struct Group *g = &c.groups[gi];
		shape_dev(&g->psh, &g->sh);
		g->C = g->psh.dims[g->psh.n_layers];
		rc = group_buffers(&c, g, c.B, 0);
		if (rc == 0)
			rc = dalloc(&g->probes, (size_t)g->P);
		if (rc)
			break;
		DevProbe *hp = (DevProbe *)xcalloc((size_t)g->P, sizeof *hp);
		float *hw = (float *)xmalloc(g->psh.n_params * (size_t)g->P * sizeof(float));
		int *ones = (int *)xmalloc((size_t)g->P * sizeof(int));
		for (int q = 0; q < g->P; q++) {
			hp[q].act = res->probes[g->ids[q]].act;
			hp[q].n_out = g->C;
			hp[q].job_index = g->ids[q];
			memcpy(hw + (size_t)q * g->psh.n_params, res->probes[g->ids[q]].params, g->psh.n_params * sizeof(float));
			ones[q] = 1;
		}
		if (cudaMemcpy(g->probes, hp, (size_t)g->P * sizeof *hp, cudaMemcpyHostToDevice) != cudaSuccess ||
		    cudaMemcpy(g->w, hw, g->psh.n_params * (size_t)g->P * sizeof(float), cudaMemcpyHostToDevice) !=
			    cudaSuccess ||
		    cudaMemcpy(g->active, ones, (size_t)g->P * sizeof(int), cudaMemcpyHostToDevice) != cudaSuccess)
			rc = ERR_INTERNAL("%s:%d: copying parameters to the device failed", __FILE__, __LINE__);
		free(hp);
		free(hw);
		free(ones);
	}
	int maxP = 0;
	for (int gi = 0; gi < c.n_groups; gi++)
		maxP = c.groups[gi].P > maxP ? c.groups[gi].P : maxP;
	if (rc == 0 && dalloc(&dout, (size_t)maxP * c.B * W) < 0)
		rc = -1;
	if (rc == 0 && cudaDeviceSynchronize() != cudaSuccess)   /* the zeroing memsets, as in ctx_setup */
		rc = ERR_INTERNAL("%s:%d: cudaDeviceSynchronize failed", __FILE__, __LINE__);
	for (size_t r0 = 0; r0 < n && rc == 0; r0 += (size_t)c.B) {
		int M = (int)(n - r0 < (size_t)c.B ? n - r0 : (size_t)c.B);
		if (cudaMemcpyAsync(c.Xb, x + r0 * c.d, (size_t)M * c.d * sizeof(float), cudaMemcpyHostToDevice,
				    c.stream) != cudaSuccess) {
			rc = ERR_INTERNAL("%s:%d: copying rows to the device failed", __FILE__, __LINE__);
			break;
		}
		for (int gi = 0; gi < c.n_groups && rc == 0; gi++) {
			struct Group *g = &c.groups[gi];
			rc = enqueue_forward(&c, g, M, 0);
			if (rc == 0)
				rc = enqueue_output(&c, g, M, OUT_PROBA, dout, (int)W);
			for (int q = 0; q < g->P && rc == 0; q++)
				if (cudaMemcpyAsync(out + ((size_t)g->ids[q] * n + r0) * W, dout + (size_t)q * M * W,
						    (size_t)M * W * sizeof(float), cudaMemcpyDeviceToHost,
						    c.stream) != cudaSuccess)
					rc = ERR_INTERNAL("%s:%d: copying probabilities back failed", __FILE__, __LINE__);
			/* dout is reused by the next group: wait for the copies */
			if (rc == 0 && cudaStreamSynchronize(c.stream) != cudaSuccess)
				rc = ERR_INTERNAL("%s:%d: prediction failed: %s", __FILE__, __LINE__,
						  cudaGetErrorString(cudaGetLastError()));
		}
	}
	cudaFree(dout);
	ctx_free(&c);
	return rc ? -1 : 0;
}

static const struct probe_backend cuda_backend = {
	"cuda", cuda_train, cuda_predict, cuda_gradients, NULL,
};

extern "C" const struct probe_backend *probe_cuda_backend(char *why, size_t why_size)
{
	int count = 0;
	cudaError_t e = cudaGetDeviceCount(&count);
	if (e != cudaSuccess) {
		snprintf(why, why_size, "no CUDA device (cudaGetDeviceCount: %s)", cudaGetErrorString(e));
		(void)cudaGetLastError();
		return NULL;
	}
	if (count == 0) {
		snprintf(why, why_size, "no CUDA device (cudaGetDeviceCount found none)");
		return NULL;
	}
	cudaDeviceProp prop;
	e = cudaGetDeviceProperties(&prop, 0);
	if (e != cudaSuccess) {
		snprintf(why, why_size, "no usable CUDA device (cudaGetDeviceProperties: %s)", cudaGetErrorString(e));
		return NULL;
	}
	if (prop.major < 9) {
		snprintf(why, why_size, "CUDA device 0 (%s) has compute capability %d.%d; this build targets sm_90",
			 prop.name, prop.major, prop.minor);
		return NULL;
	}
	snprintf(why, why_size, "cuda: %s (device 0 of %d, compute capability %d.%d)", prop.name, count, prop.major,
		 prop.minor);
	return &cuda_backend;
}
