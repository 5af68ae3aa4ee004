/* parity.c - the CUDA probe backend against the CPU reference.
 *
 * Its own binary, without Check and without fork (CUDA does not survive fork()).
 * Without a device, or in a build without CUDA, it prints SKIP and exits 0.
 *
 * Each case runs the same job on both backends and compares, as
 * |gpu - cpu| <= atol + rtol * |cpu|, printing the first mismatches and the
 * largest difference:
 *  1. the step-0 gradients (same parameters, same rows: only the order of fp32
 *     sums differs) - tight: rtol 1e-3, atol 1e-4 x the probe's largest gradient;
 *  2. predictions of the CPU-trained probes on both backends (same parameters) -
 *     atol 1e-5;
 *  3. training: every record's losses (rtol 1e-3, atol 1e-4) and accuracies
 *     (atol 0.02), the steps and early-stopping outcome (exact), the parameters
 *     (per probe ||gpu - cpu|| / ||cpu|| <= 1e-3, and each within
 *     atol = 4 lr + 1e-4, rtol 1e-3: Adam turns a gradient that is zero up to
 *     rounding into a full step of either sign, so one element may move by
 *     about 2 lr), and the predictions of the trained probes (atol 2e-3).
 * Then the GPU against itself: the same job twice, and without the CUDA graph,
 * must give the same bits.
 *
 * Shapes reach every kernel branch: one row (batch 1); rows not a multiple of
 * the tiles (64), the chunk (256) or a warp's rows (8), a last batch of one row;
 * widths 1..1024 across tile edges; 37 features; 2, 3 and 40 classes (narrow
 * and tiled output layers); P = 1 and P = 64 in groups of several shapes;
 * dropout, soft and binary targets, masks, validation with early stopping and
 * every optimizer and schedule. */
#include "stages/probes/probe_internal.h"

#include "pipeline/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

/* Compare n values; print the first 5 mismatches and the largest difference
 * (quiet: print only when something is off). Returns 1 when all agree. */
static int compare(const char *what, const float *cpu, const float *gpu, size_t n, double atol, double rtol, int quiet)
{
	size_t bad = 0, worst_at = 0;
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		double c = cpu[i], g = gpu[i];
		if (isnan(c) && isnan(g))
			continue;
		double d = fabs(g - c);
		if (!(d <= atol + rtol * fabs(c))) {
			if (bad < 5)
				printf("    mismatch %s[%zu]: cpu %.9g gpu %.9g (|diff| %.3g > %.3g)\n", what, i, c, g, d,
				       atol + rtol * fabs(c));
			bad++;
		}
		if (!(d <= worst)) {
			worst = isnan(d) ? INFINITY : d;
			worst_at = i;
		}
	}
	if (!quiet || bad)
		printf("  %-44s n=%-8zu max|diff| %-10.3g at %-7zu %s\n", what, n, worst, worst_at, bad ? "FAIL" : "ok");
	if (bad) {
		printf("    %zu of %zu outside atol %.3g + rtol %.3g * |cpu|\n", bad, n, atol, rtol);
		failures++;
	}
	return bad == 0;
}

static void check_exact(const char *what, long cpu, long gpu, int quiet)
{
	int ok = cpu == gpu;
	if (!quiet || !ok)
		printf("  %-44s cpu %-8ld gpu %-8ld %s\n", what, cpu, gpu, ok ? "ok" : "FAIL");
	failures += !ok;
}

/* ---- jobs ---- */

struct data {
	size_t n, d;
	int C;
	float *x, *teacher, *rw;
	int32_t *y;
	uint8_t *bin, *val, *fmask;
	struct probe_data pd;
};

static void data_make(struct data *t, size_t n, size_t d, int C, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	t->n = n;
	t->d = d;
	t->C = C;
	t->x = xmalloc(n * d * sizeof(float));
	t->y = xmalloc(n * sizeof(int32_t));
	t->teacher = xmalloc(n * (size_t)C * sizeof(float));
	t->rw = xmalloc(n * sizeof(float));
	t->bin = xmalloc(n);
	t->val = xmalloc(n);
	t->fmask = xmalloc(d);
	double *rot = xmalloc(d * (size_t)C * sizeof(double));
	for (size_t i = 0; i < d * (size_t)C; i++)
		rot[i] = rng_normal(&r);
	double *z = xmalloc((size_t)C * sizeof(double));
	for (size_t i = 0; i < n; i++) {
		double best = -INFINITY, s = 0;
		for (size_t k = 0; k < d; k++)
			t->x[i * d + k] = (float)rng_normal(&r);
		for (int c = 0; c < C; c++) {
			z[c] = 0.3 * rng_normal(&r);
			for (size_t k = 0; k < d; k++)
				z[c] += t->x[i * d + k] * rot[k * (size_t)C + (size_t)c];
			if (z[c] > best) {
				best = z[c];
				t->y[i] = c;
			}
		}
		for (int c = 0; c < C; c++)
			s += exp(z[c] - best);
		for (int c = 0; c < C; c++)
			t->teacher[i * (size_t)C + (size_t)c] = (float)(exp(z[c] - best) / s);
		t->rw[i] = i % 6 == 0 ? 0.0f : 0.5f + (float)(i % 4) * 0.5f;
		t->bin[i] = t->x[i * d] + 0.5f * t->x[i * d + d / 2] > 0;
		t->val[i] = i % 5 == 0;
	}
	for (size_t k = 0; k < d; k++)
		t->fmask[k] = k % 7 != 3;
	free(rot);
	free(z);
	t->pd = (struct probe_data){.n = n, .d = d, .x = t->x, .y = t->y, .n_classes = C, .teacher = t->teacher};
}

static void data_free(struct data *t)
{
	free(t->x);
	free(t->y);
	free(t->teacher);
	free(t->rw);
	free(t->bin);
	free(t->val);
	free(t->fmask);
}

/* Probe i of a mixed batch: cycles through every option. Probes 4k..4k+3 share
 * a shape, so groups hold several probes. */
static void mixed_spec(struct probe_spec *s, int i, const struct data *t)
{
	static const int widths[] = {1, 5, 16, 37, 64, 65, 130, 33};
	static const float cw[40] = {0.5f, 2.0f, 1.3f, 1.0f, 0.7f};
	probe_spec_init(s);
	int shape = i / 4;
	s->n_hidden = shape % 4;
	for (int l = 0; l < s->n_hidden; l++)
		s->hidden[l] = widths[(shape + 3 * l) % 8];
	s->act = (i / 2) % 2 ? PROBE_TANH : PROBE_RELU;
	s->init = (enum probe_init)(i % 4 == 3 ? PROBE_INIT_HE : i % 3);
	s->init_value = 0.05f;
	s->optim = (enum probe_optim)(i % 5);
	s->lr = s->optim == PROBE_SGD || s->optim == PROBE_MOMENTUM ? 0.05f : 2e-3f;
	s->sched = (enum probe_sched)((i / 5) % 4);
	s->lr_step = 3;
	s->lr_gamma = 0.7f;
	s->l1 = i % 3 == 0 ? 1e-4f : 0;
	s->l2 = i % 4 == 1 ? 1e-3f : 0;
	s->dropout = i % 6 == 2 ? 0.2f : 0;
	s->seed = 1000 + (uint64_t)i;
	switch (i % 7) {
	case 1: s->target = PROBE_TARGET_SOFT; s->temperature = 2; s->alpha = 0.6f; break;
	case 4: s->target = PROBE_TARGET_BINARY; s->binary_target = t->bin; break;
	default: break;
	}
	if (i % 3 == 1)
		s->class_weight = cw;
	if (i % 5 == 2)
		s->row_weight = t->rw;
	if (i % 4 == 2)
		s->feature_mask = t->fmask;
	if (i % 8 == 5) {
		s->val_mask = t->val;
		s->patience = 2;
	} else if (i % 8 == 6) {
		s->val_mask = t->val;
	}
}

/* ---- one case ---- */

static void run_case(const char *name, const struct probe_backend *cpu, const struct probe_backend *gpu,
		     const struct probe_job *job)
{
	printf("case %s: %zu probes, %zu rows x %zu features, %d classes, batch %zu, %d epochs\n", name, job->n_probes,
	       job->data->n, job->data->d, job->data->n_classes, job->batch_size, job->epochs);
	size_t P = job->n_probes, total = 0;
	size_t *off = xmalloc(P * sizeof *off);
	for (size_t p = 0; p < P; p++) {
		struct probe_shape sh;
		probe_shape_of(job, p, &sh);
		off[p] = total;
		total += sh.n_params;
	}

	/* 1. gradients at step 0 */
	float *gc = xmalloc(total * sizeof(float)), *gg = xmalloc(total * sizeof(float));
	float *lc = xmalloc(P * sizeof(float)), *lg = xmalloc(P * sizeof(float));
	if (cpu->gradients(cpu, job, gc, lc) < 0 || gpu->gradients(gpu, job, gg, lg) < 0) {
		printf("  gradients: %s FAIL\n", mla_error_message());
		failures++;
		mla_error_clear();
	} else {
		compare("step-0 loss", lc, lg, P, 1e-6, 1e-5, 0);
		for (size_t p = 0; p < P; p++) {
			size_t np = (p + 1 < P ? off[p + 1] : total) - off[p];
			double scale = 0;
			for (size_t i = 0; i < np; i++)
				scale = fmax(scale, fabs(gc[off[p] + i]));
			char what[64];
			snprintf(what, sizeof what, "step-0 gradient, probe %zu", p);
			compare(what, gc + off[p], gg + off[p], np, 1e-4 * scale + 1e-9, 1e-3, P > 4);
		}
		if (P > 4)
			printf("  step-0 gradients of %zu probes compared\n", P);
	}

	/* 2 and 3. train on both */
	struct probe_result *rc = cpu->train(cpu, job), *rg = gpu->train(gpu, job);
	if (!rc || !rg) {
		printf("  train: %s FAIL\n", mla_error_message());
		failures++;
		mla_error_clear();
		probe_result_free(rc);
		probe_result_free(rg);
		free(off);
		free(gc);
		free(gg);
		free(lc);
		free(lg);
		return;
	}
	size_t n = job->data->n, W = (size_t)rc->out_width;
	float *pc = xmalloc(P * n * W * sizeof(float)), *pg = xmalloc(P * n * W * sizeof(float));
	if (cpu->predict(cpu, rc, job->data->x, n, pc) < 0 || gpu->predict(gpu, rc, job->data->x, n, pg) < 0) {
		printf("  predict: %s FAIL\n", mla_error_message());
		failures++;
		mla_error_clear();
	} else {
		compare("predict, same parameters", pc, pg, P * n * W, 1e-5, 0, 0);
	}
	int quiet = P > 4;
	for (size_t p = 0; p < P; p++) {
		const struct probe_trained *a = &rc->probes[p], *b = &rg->probes[p];
		char what[96];
		snprintf(what, sizeof what, "probe %zu steps", p);
		check_exact(what, a->steps, b->steps, quiet);
		snprintf(what, sizeof what, "probe %zu records", p);
		check_exact(what, (long)a->n_records, (long)b->n_records, quiet);
		snprintf(what, sizeof what, "probe %zu stopped early", p);
		check_exact(what, a->stopped_early, b->stopped_early, quiet);
		size_t nr = a->n_records < b->n_records ? a->n_records : b->n_records;
		float *cl = xmalloc((2 * nr + 1) * sizeof(float)), *gl = xmalloc((2 * nr + 1) * sizeof(float));
		float *ca = xmalloc((2 * nr + 1) * sizeof(float)), *ga = xmalloc((2 * nr + 1) * sizeof(float));
		for (size_t k = 0; k < nr; k++) {
			cl[2 * k] = a->records[k].train_loss;
			cl[2 * k + 1] = a->records[k].val_loss;
			gl[2 * k] = b->records[k].train_loss;
			gl[2 * k + 1] = b->records[k].val_loss;
			ca[2 * k] = a->records[k].train_acc;
			ca[2 * k + 1] = a->records[k].val_acc;
			ga[2 * k] = b->records[k].train_acc;
			ga[2 * k + 1] = b->records[k].val_acc;
		}
		snprintf(what, sizeof what, "probe %zu losses per record", p);
		compare(what, cl, gl, 2 * nr, 1e-4, 1e-3, quiet);
		snprintf(what, sizeof what, "probe %zu accuracies per record", p);
		compare(what, ca, ga, 2 * nr, 0.02, 0, quiet);
		/* parameters: overall, then each */
		double dn = 0, cn = 0;
		for (size_t i = 0; i < a->n_params; i++) {
			dn += ((double)b->params[i] - a->params[i]) * ((double)b->params[i] - a->params[i]);
			cn += (double)a->params[i] * a->params[i];
		}
		double rel = sqrt(dn / (cn > 0 ? cn : 1));
		int ok = rel <= 1e-3;
		if (!quiet || !ok)
			printf("  %-44s %-10.3g %s\n", "parameters ||gpu-cpu|| / ||cpu||", rel, ok ? "ok" : "FAIL");
		failures += !ok;
		snprintf(what, sizeof what, "probe %zu parameters", p);
		compare(what, a->params, b->params, a->n_params, 4 * job->specs[p].lr + 1e-4, 1e-3, quiet);
		free(cl);
		free(gl);
		free(ca);
		free(ga);
	}
	if (P > 4)
		printf("  records and parameters of %zu probes compared\n", P);
	if (gpu->predict(gpu, rg, job->data->x, n, pg) == 0)
		compare("predict, trained on each backend", pc, pg, P * n * W, 2e-3, 0, 0);
	else {
		printf("  predict: %s FAIL\n", mla_error_message());
		failures++;
		mla_error_clear();
	}
	probe_result_free(rc);
	probe_result_free(rg);
	free(pc);
	free(pg);
	free(off);
	free(gc);
	free(gg);
	free(lc);
	free(lg);
}

/* The GPU against itself: same job twice, and with the graph off. */
static void gpu_determinism(const struct probe_backend *gpu, const struct probe_job *job)
{
	printf("case gpu determinism: %zu probes\n", job->n_probes);
	struct probe_result *a = gpu->train(gpu, job), *b = gpu->train(gpu, job);
	setenv("MLA_PROBE_CUDA_GRAPH", "0", 1);
	struct probe_result *c = gpu->train(gpu, job);
	unsetenv("MLA_PROBE_CUDA_GRAPH");
	if (!a || !b || !c) {
		printf("  train: %s FAIL\n", mla_error_message());
		failures++;
	} else {
		size_t diff_ab = 0, diff_ac = 0;
		for (size_t p = 0; p < job->n_probes; p++) {
			size_t bytes = a->probes[p].n_params * sizeof(float);
			diff_ab += memcmp(a->probes[p].params, b->probes[p].params, bytes) != 0;
			diff_ac += memcmp(a->probes[p].params, c->probes[p].params, bytes) != 0;
		}
		printf("  %-44s %zu of %zu probes differ %s\n", "twice, same bits", diff_ab, job->n_probes,
		       diff_ab ? "FAIL" : "ok");
		printf("  %-44s %zu of %zu probes differ %s\n", "graph vs direct launches, same bits", diff_ac,
		       job->n_probes, diff_ac ? "FAIL" : "ok");
		failures += diff_ab > 0;
		failures += diff_ac > 0;
	}
	probe_result_free(a);
	probe_result_free(b);
	probe_result_free(c);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const struct probe_backend *gpu = NULL;
	char why[256] = "this build has no CUDA backend (compile with -DMLA_HAVE_CUDA and cuda/probe_cuda.cu)";
#ifdef MLA_HAVE_CUDA
	gpu = probe_cuda_backend(why, sizeof why);
#endif
	if (!gpu) {
		printf("SKIP: %s\n", why);
		return 0;
	}
	const struct probe_backend *cpu = probe_cpu_backend();
	printf("parity: %s; cpu kernels: %s\n", why, probe_cpu_kernels());

	/* one row, batch 1, P = 1 */
	struct data one;
	data_make(&one, 1, 5, 2, 1);
	struct probe_spec s1;
	probe_spec_init(&s1);
	s1.lr = 0.01f;
	struct probe_job j1 = {.data = &one.pd, .specs = &s1, .n_probes = 1, .batch_size = 1, .epochs = 3,
			       .record_every = 1, .seed = 5};
	run_case("single row", cpu, gpu, &j1);
	s1.n_hidden = 2;
	s1.hidden[0] = 3;
	s1.hidden[1] = 70;
	s1.dropout = 0.3f;
	run_case("single row, MLP with dropout", cpu, gpu, &j1);

	/* P = 1, wide: 1000 rows in batches of 333 (the last batch has one row) */
	struct data mid;
	data_make(&mid, 1000, 37, 3, 2);
	struct probe_spec s2;
	probe_spec_init(&s2);
	s2.n_hidden = 3;
	s2.hidden[0] = 1024;
	s2.hidden[1] = 70;
	s2.hidden[2] = 1;
	s2.init = PROBE_INIT_HE;
	s2.optim = PROBE_MOMENTUM;
	s2.lr = 0.01f;
	struct probe_job j2 = {.data = &mid.pd, .specs = &s2, .n_probes = 1, .batch_size = 333, .epochs = 2,
			       .record_every = 2, .seed = 6};
	run_case("P=1, widths 1024-70-1, batch 333", cpu, gpu, &j2);

	/* P = 64, every option, shapes in groups */
	struct data mix;
	data_make(&mix, 777, 37, 3, 3);
	struct probe_spec s64[64];
	for (int i = 0; i < 64; i++)
		mixed_spec(&s64[i], i, &mix);
	struct probe_job j64 = {.data = &mix.pd, .specs = s64, .n_probes = 64, .batch_size = 128, .epochs = 3,
				.record_every = 3, .seed = 7};
	run_case("P=64 mixed", cpu, gpu, &j64);
	gpu_determinism(gpu, &j64);

	/* 40 classes: the output layer through the tiled kernels */
	struct data wide;
	data_make(&wide, 500, 8, 40, 4);
	struct probe_spec s40[4];
	for (int i = 0; i < 4; i++) {
		probe_spec_init(&s40[i]);
		s40[i].seed = 50 + (uint64_t)i;
		s40[i].lr = 3e-3f;
	}
	s40[1].n_hidden = 1;
	s40[1].hidden[0] = 45;
	s40[2].n_hidden = 2;
	s40[2].hidden[0] = 64;
	s40[2].hidden[1] = 17;
	s40[2].act = PROBE_TANH;
	s40[2].dropout = 0.1f;
	s40[3].target = PROBE_TARGET_SOFT;
	s40[3].n_hidden = 1;
	s40[3].hidden[0] = 40;
	struct probe_job j40 = {.data = &wide.pd, .specs = s40, .n_probes = 4, .batch_size = 100, .epochs = 2,
				.record_every = 4, .seed = 8};
	run_case("40 classes", cpu, gpu, &j40);

	data_free(&one);
	data_free(&mid);
	data_free(&mix);
	data_free(&wide);
	printf("parity: %s (%d failed comparisons)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
