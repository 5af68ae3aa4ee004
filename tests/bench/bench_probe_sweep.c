/* bench_probe_sweep.c - the "probe sweep" workload of issue 3, on one backend.
 *
 * 1,000,000 rows x 32 standard-normal features, a binary label from a fixed
 * nonlinear rule (the same recipe as ../shared/peers/probe_sweep_torch.py:
 * y = sum(tanh(X R)) > 0 with R 32 x 8), 32 MLP probes 32-64-2 ReLU with
 * learning rates log-uniform over 1e-4..1e-1, Adam, batch 4096, 2 epochs, fp32.
 *
 * Prints one line per measurement, "key value", for bench_probe_sweep.sh to
 * read: the training time (median of --repeat runs), the final training loss of
 * the fastest and slowest learning rates, and the accuracy of the best probe on
 * the training rows (a check that the timed run learnt something).
 *
 * Needs only the compute core: build with probe_backend.c probe_cpu.c
 * probe_cpu_simd.c pipeline/util.c (+ cuda/probe_cuda.o with -DMLA_HAVE_CUDA). */
#include "stages/probes/probe.h"

#include "pipeline/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_probe_sweep [--backend auto|cpu|cuda] [--rows N] [--features D] [--probes P]\n"
			"                         [--hidden H] [--epochs E] [--batch B] [--threads T] [--repeat R]\n");
}

int main(int argc, char **argv)
{
	const char *want = "auto";
	size_t n = 1000000, d = 32, P = 32, H = 64, B = 4096;
	int epochs = 2, threads = 0, repeat = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			usage();
			return 2;
		}
		if (!strcmp(a, "--backend")) want = v;
		else if (!strcmp(a, "--rows")) n = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--features")) d = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--probes")) P = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--hidden")) H = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--batch")) B = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--epochs")) epochs = atoi(v);
		else if (!strcmp(a, "--threads")) threads = atoi(v);
		else if (!strcmp(a, "--repeat")) repeat = atoi(v);
		else {
			usage();
			return 2;
		}
		i++;
	}
	if (n < 2 || d < 1 || P < 1 || H < 1 || B < 1 || epochs < 1 || repeat < 1) {
		usage();
		return 2;
	}

	char why[256];
	const struct probe_backend *be = probe_backend_choose(want, why, sizeof why);
	if (!be) {
		fprintf(stderr, "bench_probe_sweep: %s\n", mla_error_message());
		return 2;
	}
	printf("backend %s\n", be->name);
	printf("backend_reason %s\n", why);

	/* data: the peer's recipe, with our generator */
	struct rng r;
	rng_seed(&r, 7);
	float *x = xmalloc(n * d * sizeof(float)), *rot = xmalloc(d * 8 * sizeof(float));
	int32_t *y = xmalloc(n * sizeof(int32_t));
	for (size_t i = 0; i < d * 8; i++)
		rot[i] = (float)rng_normal(&r);
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		float *xi = x + i * d;
		for (size_t k = 0; k < d; k++)
			xi[k] = (float)rng_normal(&r);
		double s = 0;
		for (int j = 0; j < 8; j++) {
			double t = 0;
			for (size_t k = 0; k < d; k++)
				t += (double)xi[k] * rot[k * 8 + j];
			s += tanh(t);
		}
		y[i] = s > 0;
		pos += (size_t)y[i];
	}
	printf("rows %zu\nfeatures %zu\npositive_share %.4f\n", n, d, (double)pos / (double)n);

	struct probe_spec *specs = xcalloc(P, sizeof *specs);
	for (size_t p = 0; p < P; p++) {
		struct probe_spec *s = &specs[p];
		probe_spec_init(s);
		s->n_hidden = 1;
		s->hidden[0] = (int)H;
		s->act = PROBE_RELU;
		s->init = PROBE_INIT_HE;
		s->optim = PROBE_ADAM;
		s->lr = (float)pow(10.0, -4.0 + 3.0 * (P > 1 ? (double)p / (double)(P - 1) : 0.5));
		s->seed = 1000 + p;
	}
	struct probe_data data = {.n = n, .d = d, .x = x, .y = y, .n_classes = 2, .teacher = NULL};
	struct probe_job job = {.data = &data, .specs = specs, .n_probes = P, .batch_size = B, .epochs = epochs,
				.record_every = 0, .seed = 11, .threads = threads};
	printf("probes %zu\nhidden %zu\nbatch %zu\nepochs %d\nsteps %ld\n", P, H, B, epochs, probe_total_steps(&job));

	double *times = xmalloc((size_t)repeat * sizeof(double));
	struct probe_result *res = NULL;
	for (int k = 0; k < repeat; k++) {
		probe_result_free(res);
		double t0 = now_seconds();
		res = be->train(be, &job);
		times[k] = now_seconds() - t0;
		if (!res) {
			fprintf(stderr, "bench_probe_sweep: %s\n", mla_error_message());
			return 3;
		}
		fprintf(stderr, "run %d: %.3f s\n", k + 1, times[k]);
	}
	qsort(times, (size_t)repeat, sizeof *times, cmp_double);
	printf("train_s %.4f\n", times[repeat / 2]);
	printf("train_min_s %.4f\n", times[0]);
	double flops = 0;
	{
		/* forward 2*d*H + 2*H*2, backward the same twice less the input gradient */
		double per_row = 2.0 * (d + 1) * H + 2.0 * (H + 1) * 2;
		flops = (double)P * (double)n * epochs * (per_row * 2 + 2.0 * H * 2);
	}
	printf("gflop %.1f\ngflops_per_s %.2f\n", flops / 1e9, flops / 1e9 / times[repeat / 2]);

	const struct probe_trained *lo = &res->probes[0], *hi = &res->probes[P - 1];
	printf("final_loss_lr_min %.4f\n", lo->records[lo->n_records - 1].train_loss);
	printf("final_loss_lr_max %.4f\n", hi->records[hi->n_records - 1].train_loss);

	/* accuracy of the best probe (by final training loss) on 100k training rows */
	size_t best = 0, m = n < 100000 ? n : 100000;
	for (size_t p = 1; p < P; p++) {
		const struct probe_trained *t = &res->probes[p];
		if (t->records[t->n_records - 1].train_loss <
		    res->probes[best].records[res->probes[best].n_records - 1].train_loss)
			best = p;
	}
	float *proba = xmalloc(P * m * (size_t)res->out_width * sizeof(float));
	double t0 = now_seconds();
	if (be->predict(be, res, x, m, proba) < 0) {
		fprintf(stderr, "bench_probe_sweep: %s\n", mla_error_message());
		return 3;
	}
	printf("predict_s %.4f\n", now_seconds() - t0);
	size_t ok = 0;
	for (size_t i = 0; i < m; i++)
		ok += (proba[(best * m + i) * (size_t)res->out_width + 1] > 0.5f) == (y[i] == 1);
	printf("best_probe %zu\nbest_lr %.6f\nbest_train_acc %.4f\n", best, (double)specs[best].lr, (double)ok / (double)m);

	free(proba);
	probe_result_free(res);
	free(times);
	free(specs);
	free(x);
	free(rot);
	free(y);
	return 0;
}
