/* probes_sanity.c - the seed's training checks (sanity.h) run by the probes
 * stage on a seeded subsample of the encoded train rows; see probes_sanity.h.
 *
 * Budgets (the report states them): quick runs the four checks that say
 * whether a model can learn at all (overfit a mini-batch, gradient check,
 * initialisation, learning-rate range test); standard adds optimizers,
 * regularisation, capacity with a learning curve, gradient health, a small
 * hyper-parameter search whose best trial is then trained on all the
 * budgeted train rows until its training loss stops improving, and
 * distillation; thorough the same on more rows with longer runs. Every check
 * is one or a few batched probe jobs, so the cost is bounded by rows x epochs
 * x probes of the level (sanity.json records the seconds of each check).
 *
 * Each check writes its numbers, its rule and one line of advice ("advice")
 * into sanity.json. A check whose measured result says a model of this kind
 * should be trained differently than the usual defaults adds a sanity_check
 * finding (severity low, standard and above) with the numbers the
 * mitigation's sentence needs. The optimizer and regularisation checks first
 * train the pair (their best, its rival) again with new seeds and a new
 * validation draw and compare them row by row (sanity_pair), so a winner
 * picked among many runs on the same rows is not advice by chance; the
 * learning rate is checked by a sweep of fixed rates, the search's setting by
 * its final training on every budgeted row. */
#include "probes_sanity.h"
#include "sanity.h"
#include "../../pipeline/findings.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sanity_budget {
	const char *level;
	size_t rows;          /* subsample cap */
	int standard;         /* run the standard checks too */
	int epochs;           /* of the comparison runs (init, optimizers, regularisation, capacity) */
	size_t hpo_trials;    /* per method */
	int hpo_epochs;
	long lr_steps;
	double final_visits;  /* the best trial's final training: row visits (rows x epochs) at most */
};

static const struct sanity_budget sbudgets[] = {
	{"quick", 1000, 0, 6, 0, 0, 150, 0},
	{"standard", 2000, 1, 6, 12, 4, 200, 1.5e6},
	{"thorough", 10000, 1, 10, 30, 6, 400, 1e7},
};

#define OVERFIT_ROWS 256
#define OVERFIT_STEPS 300
/* "near 100%": real data with overlapping classes leaves a row or two of 256
 * unfitted by a small net, while shuffled labels stay at 70-90% (sanity.h) */
#define OVERFIT_NEAR 0.98
#define GRAD_ROWS 32
#define LR_MIN 1e-5
#define LR_MAX 10.0
#define VAL_SHARE 0.2
#define DISTILL_T 2.0
#define DISTILL_WIDTH 8
/* the usual defaults the advice is measured against: Adam's own default rate,
 * and the probes stage's reference MLP (Adam 1e-3, L2 1e-4, 128 units) */
#define DEFAULT_LR 1e-3
#define DEFAULT_L2 1e-4
#define DEFAULT_WIDTH 128
/* a learning rate is "far" from the default beyond this factor (the range
 * test's suggestion lands within 3x of a sweep's best, sanity.h) */
#define LR_FAR 3.0
/* and worth advising when the training loss after the same steps is lower by */
#define LR_GAIN 0.05
/* a confirmed difference must also be at least this share of the default's
 * validation loss (a significant 0.1% is no advice) */
#define MIN_REL_GAIN 0.01
/* seeds per side of a confirmation run: one run of a few epochs on ~2,000
 * rows varies too much with its seed to stand for its setting */
#define CONFIRM_SEEDS 3
#define CONFIRM_RULE "the pair trained again with 3 new seeds each on a new validation draw; every seed " \
	"agrees, the 95% interval of the row-wise difference of seed-averaged losses is below 0, and the " \
	"gain is at least 1% of the loss"
#define FINAL_VAL_SHARE 0.1
#define FINAL_PATIENCE 3
#define FINAL_MIN_EPOCHS 5
#define FINAL_MAX_EPOCHS 60
#define N_SWEEP 13          /* fixed rates 1e-4 .. 1e-1, four per decade */

static const char *const init_names[4] = {"constant", "uniform", "xavier", "he"};
static const char *const optim_names[SANITY_N_OPTIM] = {"sgd", "momentum", "rmsprop", "adagrad", "adam"};
static const char *const optim_text[SANITY_N_OPTIM] = {"plain SGD", "SGD with momentum", "RMSprop", "AdaGrad",
							"Adam"};
static const char *const sched_names[SANITY_N_SCHED] = {"constant", "step", "exponential", "cosine"};
static const char *const sched_text[SANITY_N_SCHED] = {"a constant rate", "step decay", "exponential decay",
							"cosine decay"};
static const char *const method_names[3] = {"grid", "random", "bayes"};

/* What every check needs: the data, the backend, the budget, where to write. */
struct sctx {
	const struct stage_ctx *ctx;
	const struct probe_backend *be;
	const struct sanity_budget *sb;
	const struct probe_data *d;     /* the checks' subsample */
	const struct probe_data *all;   /* every budgeted train row (the final training) */
	const uint8_t *val;             /* validation rows of d */
	size_t batch;
	int learnable;                  /* see probes_sanity.h */
	int signal;                     /* learnable != 0: tuning advice applies */
	int tuning;                     /* add tuning findings (standard and above: quick only asks
					   whether a model can learn at all) */
	int epochs, hpo_epochs;         /* the level's, stretched on small data (see steps_epochs) */
	double suggested_lr;            /* the range test's, NaN before it ran */
	double advised_lr;              /* the learning-rate check's advice for Adam, NaN before */
	json_t *out, *findings;
};

static json_t *fit_json(const struct sanity_fit *f)
{
	json_t *o = json_object();
	json_object_set_new(o, "train_loss", json_num_or_null(f->train_loss));
	json_object_set_new(o, "train_acc", json_num_or_null(f->train_acc));
	json_object_set_new(o, "val_loss", json_num_or_null(f->val_loss));
	json_object_set_new(o, "val_acc", json_num_or_null(f->val_acc));
	return o;
}

static json_t *curve_json(const struct sanity_curve *c)
{
	json_t *o = json_object(), *st = json_array(), *tl = json_array(), *vl = json_array();
	for (size_t i = 0; i < c->n; i++) {
		json_array_append_new(st, json_integer(c->step[i]));
		json_array_append_new(tl, json_num_or_null(c->train_loss[i]));
		json_array_append_new(vl, json_num_or_null(c->val_loss[i]));
	}
	json_object_set_new(o, "step", st);
	json_object_set_new(o, "train_loss", tl);
	json_object_set_new(o, "val_loss", vl);
	return o;
}

static json_t *health_json(const struct sanity_health *h)
{
	json_t *o = json_object(), *layers = json_array();
	for (int l = 0; l < h->n_layers; l++) {
		json_t *L = json_object();
		json_object_set_new(L, "ratio_first", json_num_or_null(h->ratio_first[l]));
		json_object_set_new(L, "ratio_last", json_num_or_null(h->ratio_last[l]));
		json_object_set_new(L, "ratio_min", json_num_or_null(h->ratio_min[l]));
		json_object_set_new(L, "ratio_max", json_num_or_null(h->ratio_max[l]));
		json_object_set_new(L, "vanishing", json_boolean(h->vanishing[l]));
		json_object_set_new(L, "exploding", json_boolean(h->exploding[l]));
		if (l < h->n_layers - 1) {
			json_object_set_new(L, "dead_relu", json_num_or_null(h->dead_relu[l]));
			json_object_set_new(L, "act_std", json_num_or_null(h->act_std[l]));
		}
		json_array_append_new(layers, L);
	}
	json_object_set_new(o, "layers", layers);
	json_object_set_new(o, "flagged", json_boolean(h->any_flag));
	return o;
}

/* A sanity_check finding; the subject's slice names the check, so each check
 * keeps its own stable id. `title` is freed, `ev` stolen. */
static void check_finding(struct sctx *c, const char *check, const char *what, enum severity sev, char *title,
			  json_t *ev)
{
	json_object_set_new(ev, "check", json_string(check));
	char *slice = xasprintf("training check: %s", what);
	json_array_append_new(c->findings, finding_new("sanity_check", 0, sev, title,
							subject_new("train", NULL, NULL, slice, -1), ev));
	free(slice);
	free(title);
}

static void add_finding(json_t *findings, const char *kind, enum severity sev, const char *title, json_t *ev)
{
	json_array_append_new(findings, finding_new(kind, 0, sev, title, subject_new("train", NULL, NULL, NULL, -1), ev));
}

static void base_spec(struct probe_spec *s, int width, uint64_t seed)
{
	probe_spec_init(s);
	s->n_hidden = 1;
	s->hidden[0] = width;
	s->init = PROBE_INIT_HE;
	s->optim = PROBE_ADAM;
	s->lr = (float)DEFAULT_LR;
	s->seed = seed;
}

static void set_advice(json_t *j, char *text)
{
	json_object_set_new(j, "advice", json_string(text));
	free(text);
}

/* The paired confirmation as evidence: the row-wise loss difference as an
 * estimate, the seeds and how many of them the first spec won. */
static json_t *pair_json(const struct sanity_pair *p)
{
	json_t *o = json_object();
	json_object_set_new(o, "difference", estimate_json(p->diff, p->ci_low, p->ci_high, (long long)p->n,
							    "no validation rows"));
	json_object_set_new(o, "val_loss", json_num_or_null(p->fit[0].val_loss));
	json_object_set_new(o, "reference_val_loss", json_num_or_null(p->fit[1].val_loss));
	json_object_set_new(o, "seeds", json_integer(p->seeds));
	json_object_set_new(o, "wins", json_integer(p->wins));
	return o;
}

/* A confirmed improvement of spec 0 over spec 1: every seed agrees, the whole
 * interval is below 0, and by at least MIN_REL_GAIN of spec 1's loss. */
static int pair_confirms(const struct sanity_pair *p)
{
	return p->n >= 2 && p->wins == p->seeds && p->ci_high < 0 && -p->diff >= MIN_REL_GAIN * p->fit[1].val_loss;
}

/* Train the pair again with CONFIRM_SEEDS new seeds each on a new validation
 * draw of the subsample. */
static int confirm(struct sctx *c, struct probe_spec s[2], int epochs, uint64_t seed, struct sanity_pair *p)
{
	uint8_t *val = sanity_val_mask(c->d, VAL_SHARE, seed ^ 0xc0ff1e);
	s[0].seed += 7919;
	s[1].seed += 7919;
	int rc = sanity_pair(c->d, c->be, s, val, CONFIRM_SEEDS, epochs, c->batch, seed + 7919, p);
	free(val);
	return rc;
}

/* Epochs for `rows` rows that give at least the steps `epochs` epochs give on
 * the level's full subsample: the comparison runs judge what a setting
 * reaches within a budget of steps, and on a few hundred rows six epochs are
 * 40 steps, too few for any of them (a softmax regression on penguins stayed
 * at 45% against 97% for the reference probe). The cost is that of the full
 * subsample at most. */
static int steps_epochs(const struct sanity_budget *sb, size_t rows, size_t batch, int epochs)
{
	size_t spe = (rows + batch - 1) / batch, full = (sb->rows + batch - 1) / batch;
	if (spe == 0 || spe >= full)
		return epochs;
	long e = ((long)epochs * (long)full + (long)spe - 1) / (long)spe;
	return e > 200 ? 200 : (int)e;
}

/* ---- the checks, each into its JSON object; findings appended ---- */

static int check_overfit(struct sctx *c, uint64_t seed)
{
	const struct probe_data *d = c->d;
	int learnable = c->learnable;
	size_t rows = d->n < OVERFIT_ROWS ? d->n : OVERFIT_ROWS;
	/* memorising gets easy once the parameters (~ d x width) outnumber the
	 * rows (sanity.h): keep d x width at about half the rows, 4..16 units */
	int width = (int)(rows / 2 / (d->d ? d->d : 1));
	width = width < 4 ? 4 : width > 16 ? 16 : width;
	struct sanity_overfit o;
	if (sanity_overfit_batch(d, c->be, rows, width, OVERFIT_STEPS, seed, &o) != 0)
		return -1;
	json_t *j = json_object();
	json_object_set_new(j, "rule", json_string("a one-hidden-layer ReLU MLP (He init, Adam lr 0.01, full batch) must "
						   "reach 100% training accuracy on the batch within max_steps; passed at >= 98% (near); below that it fails "
						   "when identical rows with different labels cap the reachable accuracy below 98% "
						   "(conflicting labels) or when no reference probe beats the majority baseline on "
						   "held-out rows (no learnable signal), and passes as overlapping classes otherwise"));
	json_object_set_new(j, "rows", json_integer((json_int_t)o.rows));
	json_object_set_new(j, "width", json_integer(o.width));
	json_object_set_new(j, "max_steps", json_integer(o.max_steps));
	json_object_set_new(j, "reached", json_boolean(o.reached));
	json_object_set_new(j, "steps", json_integer(o.steps));
	json_object_set_new(j, "final_acc", json_num_or_null(o.final_acc));
	json_object_set_new(j, "max_reachable_acc", json_num_or_null(o.max_reachable_acc));
	json_object_set_new(j, "n_conflicts", json_integer((json_int_t)o.n_conflicts));
	json_t *pairs = json_array();
	for (size_t i = 0; i < o.n_conflicts && i < SANITY_MAX_CONFLICTS; i++)
		json_array_append_new(pairs, json_pack("[II]", (json_int_t)o.conflicts[i][0], (json_int_t)o.conflicts[i][1]));
	json_object_set_new(j, "conflict_pairs", pairs);
	/* A small net cannot memorise rows whose classes overlap (Bayes error)
	 * any more than it can memorise shuffled labels: on synth clean 256 rows
	 * reached 95.7-99.6%, shuffled 88-89%. So a batch below "near" fails only
	 * when duplicates conflict or when the held-out evidence agrees that
	 * nothing is learnable; otherwise the classes overlap and it passes. */
	int near = o.reached || o.final_acc >= OVERFIT_NEAR;
	int conflicting = !near && o.n_conflicts > 0 && o.max_reachable_acc < OVERFIT_NEAR;
	int passed = near || (!conflicting && learnable == 1);
	const char *verdict = near ? "ok" : conflicting ? "conflicting labels" : passed ? "overlapping classes"
										 : "no learnable signal";
	json_object_set_new(j, "verdict", json_string(verdict));
	json_object_set_new(j, "near", json_real(OVERFIT_NEAR));
	json_object_set_new(j, "held_out_learnable", learnable < 0 ? json_null() : json_boolean(learnable));
	json_object_set_new(j, "passed", json_boolean(passed));
	if (near)
		set_advice(j, xasprintf("A network of %d hidden units fitted %.1f%% of a %zu-row training batch in %ld steps: the "
					"features carry signal a model can fit, so a model of yours that cannot fit a batch "
					"this small has a bug.", o.width, 100 * o.final_acc, o.rows, o.steps));
	else if (conflicting)
		set_advice(j, xasprintf("A network of %d hidden units fitted only %.1f%% of a %zu-row training batch: %zu pairs of "
					"identical feature rows carry different labels, so at most %.1f%% is reachable; fix "
					"or drop the conflicting duplicates (row pairs above) before training.", o.width,
					100 * o.final_acc, o.rows, o.n_conflicts, 100 * o.max_reachable_acc));
	else if (passed)
		set_advice(j, xasprintf("A network of %d hidden units fitted %.1f%% of a %zu-row training batch in %ld steps, not "
					"all of it, but held-out rows are learned: the classes overlap (some error is "
					"irreducible), which is no defect of the data.", o.width, 100 * o.final_acc, o.rows,
					o.max_steps));
	else
		set_advice(j, xasprintf("A network of %d hidden units fitted only %.1f%% of a %zu-row training batch and no probe "
					"beats the majority class on held-out rows: the labels look unrelated to the "
					"features; check the join and the label column before tuning any model (the "
					"training advice below does not apply until then).", o.width, 100 * o.final_acc,
					o.rows));
	json_object_set_new(c->out, "overfit_batch", j);
	if (!passed) {
		char *title = conflicting
			? xasprintf("A small network cannot fit a %zu-row training batch (%.1f%% after %ld steps): %zu pairs of "
				    "identical feature rows carry different labels (at most %.0f%% reachable); check the "
				    "labelling of duplicates.", o.rows, 100 * o.final_acc, o.max_steps, o.n_conflicts,
				    100 * o.max_reachable_acc)
			: xasprintf("A small network cannot fit a %zu-row training batch (%.1f%% after %ld steps): the features "
				    "carry no learnable signal for the labels (shuffled or misjoined labels, or the wrong "
				    "columns).", o.rows, 100 * o.final_acc, o.max_steps);
		json_t *ev = json_object();
		json_object_set_new(ev, "cause", json_string(conflicting ? "conflicting_duplicates" : "no_learnable_signal"));
		json_object_set_new(ev, "rows", json_integer((json_int_t)o.rows));
		json_object_set_new(ev, "steps", json_integer(o.max_steps));
		json_object_set_new(ev, "final_acc", json_num_or_null(o.final_acc));
		json_object_set_new(ev, "n_conflicts", json_integer((json_int_t)o.n_conflicts));
		json_object_set_new(ev, "max_reachable_acc", json_num_or_null(o.max_reachable_acc));
		json_object_set_new(ev, "held_out_learnable", learnable < 0 ? json_null() : json_boolean(learnable));
		json_object_set_new(ev, "severity_rule", json_string("high: a model cannot learn what a batch cannot fit; "
								     "medium when the held-out evidence was not judged"));
		check_finding(c, "overfit_batch", "overfit a mini-batch",
			      conflicting || learnable == 0 ? SEV_HIGH : SEV_MEDIUM, title, ev);
	}
	return 0;
}

static int check_gradient(struct sctx *c, uint64_t seed)
{
	/* The stage trains softmax regression and ReLU MLPs. Finite differences
	 * are undefined at the ReLU kink (a pre-activation within the step of 0:
	 * every all-zero encoded row with zero-initialised biases sits there), so
	 * the MLP is judged with tanh, which runs the same layer and loss code;
	 * the ReLU MLP is compared only backend fp32 against double analytic. */
	static const char *const names[3] = {"softmax", "mlp16-tanh", "mlp16-relu"};
	json_t *arr = json_array();
	int rc = 0;
	double worst = 0;
	for (int a = 0; a < 3 && rc == 0; a++) {
		struct probe_spec s;
		base_spec(&s, 16, seed + (uint64_t)a);
		s.n_hidden = a ? 1 : 0;
		s.act = a == 1 ? PROBE_TANH : PROBE_RELU;
		s.l2 = 1e-4f;
		struct sanity_gradcheck g;
		rc = sanity_gradient_check(c->d, c->be, &s, GRAD_ROWS, NULL, NULL, &g);
		if (rc != 0)
			break;
		int judged = a < 2;
		json_t *j = json_object(), *per = json_array();
		json_object_set_new(j, "architecture", json_string(names[a]));
		json_object_set_new(j, "n_params", json_integer((json_int_t)g.n_params));
		json_object_set_new(j, "judged", json_boolean(judged));
		for (int l = 0; l < g.n_layers; l++)
			json_array_append_new(per, json_num_or_null(g.rel_err[l]));
		json_object_set_new(j, "rel_err_per_layer", per);
		json_object_set_new(j, "max_rel_err", json_num_or_null(g.max_rel_err));
		json_object_set_new(j, "fp32_max_rel_err", json_num_or_null(g.fp32_max_rel_err));
		if (judged)
			json_object_set_new(j, "passed", json_boolean(g.passed));
		json_array_append_new(arr, j);
		if (judged && !(g.max_rel_err <= worst))
			worst = g.max_rel_err;
	}
	json_t *j = json_object();
	json_object_set_new(j, "rule", json_string("analytic (double) against 4th-order central differences, largest "
						   "relative error per layer below 1e-6, on softmax and a tanh MLP (finite differences are undefined at "
						   "the ReLU kink; the ReLU MLP's fp32 backend gradient is compared with the double "
						   "analytic one, informational)"));
	json_object_set_new(j, "tolerance", json_real(SANITY_GRADCHECK_TOL));
	json_object_set_new(j, "architectures", arr);
	json_object_set_new(j, "max_rel_err", json_num_or_null(worst));
	int passed = rc == 0 && worst < SANITY_GRADCHECK_TOL;
	json_object_set_new(j, "passed", json_boolean(passed));
	set_advice(j, passed ? xasprintf("The probes' gradients match finite differences (largest relative error %.2g, "
					 "tolerance 1e-6): their results can be trusted.", worst)
			     : xasprintf("The probe engine's gradients disagree with finite differences (relative error "
					 "%.2g): do not trust the probe results of this run.", worst));
	json_object_set_new(c->out, "gradient_check", j);
	if (rc == 0 && !passed) {
		char *title = xasprintf("The probe engine's gradients disagree with finite differences (relative error "
					"%.2g, tolerance 1e-6): probe results are not trustworthy.", worst);
		json_t *ev = json_object();
		json_object_set_new(ev, "max_rel_err", json_num_or_null(worst));
		check_finding(c, "gradient_check", "gradient check", SEV_HIGH, title, ev);
	}
	return rc;
}

/* The first flagged layer of h: its ratio and state ("exploding" first). */
static int flagged_layer(const struct sanity_health *h, const char **state, double *ratio)
{
	for (int pass = 0; pass < 2; pass++)
		for (int l = 0; l < h->n_layers; l++)
			if (pass == 0 ? h->exploding[l] : h->vanishing[l]) {
				*state = pass == 0 ? "exploding" : "vanishing";
				*ratio = pass == 0 ? h->ratio_max[l] : h->ratio_last[l];
				return l;
			}
	return -1;
}

static void health_finding(struct sctx *c, const struct sanity_health *h, const char *where, double lr)
{
	const char *state = NULL;
	double ratio = NAN;
	int layer = flagged_layer(h, &state, &ratio);
	if (layer < 0)
		return;   /* dead units alone are reported, not a finding */
	int exp = !strcmp(state, "exploding");
	char *title = xasprintf("%s gradients in %s at Adam lr %.2g (layer %d: gradient norm / weight norm %.3g, %s): "
				"%s.", exp ? "Exploding" : "Vanishing", where, lr, layer + 1, ratio,
				exp ? "above 1" : "below 1e-5",
				exp ? "lower the learning rate, clip gradients or use fewer layers"
				    : "use He/Xavier initialisation, normalised inputs or fewer layers");
	json_t *ev = json_object();
	json_object_set_new(ev, "where", json_string(where));
	json_object_set_new(ev, "state", json_string(state));
	json_object_set_new(ev, "layer", json_integer(layer + 1));
	json_object_set_new(ev, "ratio", json_num_or_null(ratio));
	json_object_set_new(ev, "lr", json_num_or_null(lr));
	json_object_set_new(ev, "suggested_lr", json_num_or_null(c->suggested_lr));
	json_object_set_new(ev, "health", health_json(h));
	json_object_set_new(ev, "severity_rule", json_string("medium: training is unstable or stalls"));
	check_finding(c, "health", "gradient health", SEV_MEDIUM, title, ev);
}

/* Breaking the symmetry must pay: the better of He and Xavier fits the
 * training rows better than constant init (one effective unit) by this share */
#define INIT_GAIN 0.01
/* unless both fit (nearly) perfectly, when there is nothing left to gain */
#define INIT_PERFECT 0.05

static int check_init(struct sctx *c, uint64_t seed)
{
	struct sanity_init in;
	if (sanity_init(c->d, c->be, c->val, 16, c->epochs, c->batch, seed, &in) != 0)
		return -1;
	json_t *j = json_object(), *runs = json_array();
	json_object_set_new(j, "width", json_integer(in.width));
	for (int i = 0; i < 4; i++) {
		json_t *r = json_object();
		json_object_set_new(r, "init", json_string(init_names[i]));
		json_object_set_new(r, "fit", fit_json(&in.runs[i].fit));
		json_object_set_new(r, "distinct_units", json_integer(in.runs[i].distinct_units));
		json_object_set_new(r, "curve", curve_json(&in.runs[i].curve));
		json_object_set_new(r, "health", health_json(&in.runs[i].health));
		json_array_append_new(runs, r);
	}
	json_object_set_new(j, "runs", runs);
	json_object_set_new(j, "rule", json_string("constant init leaves hidden units identical (symmetry: one effective "
						   "unit); He or Xavier should break it and fit the training rows better. "
						   "Fails (a finding) when the better of He and Xavier does not reach a "
						   "training loss at least 1% below constant init's (unless both are below "
						   "0.05). Lowest validation loss over these few epochs is reported, not "
						   "judged: small initial weights can generalise better early on few rows"));
	int best = 0;
	for (int i = 1; i < 4; i++)
		if (in.runs[i].fit.val_loss < in.runs[best].fit.val_loss)
			best = i;
	json_object_set_new(j, "best", json_string(init_names[best]));
	int good = in.runs[3].fit.train_loss <= in.runs[2].fit.train_loss ? 3 : 2;   /* the better fit of He, Xavier */
	const struct sanity_fit *cf = &in.runs[0].fit, *gf = &in.runs[good].fit;
	int failed = !(gf->train_loss < (1 - INIT_GAIN) * cf->train_loss) && !(cf->train_loss < INIT_PERFECT) &&
		     c->signal;
	json_object_set_new(j, "passed", json_boolean(!failed));
	struct strbuf adv;
	sb_init(&adv);
	if (failed)
		sb_printf(&adv, "Breaking the symmetry did not help: %s init reaches training loss %.3f, no better than "
				"constant init's %.3f with %d of %d hidden units distinct; the hidden units add nothing, so "
				"check the input scaling and for dead ReLU units (health of each run) before adding width.",
			  init_names[good], gf->train_loss, cf->train_loss, in.runs[0].distinct_units, in.width);
	else
		sb_printf(&adv, "Use He (ReLU) or Xavier (tanh) initialisation: constant init left %d of %d hidden units "
				"distinct (the symmetry never breaks) and reached training loss %.3f against %.3f with %s.",
			  in.runs[0].distinct_units, in.width, cf->train_loss, gf->train_loss, init_names[good]);
	if (!failed && best < 2)
		sb_printf(&adv, " %s init reached the lowest validation loss over these %d epochs (%.3f against %.3f "
				"with %s): small starting weights keep a network close to linear early on, a mild "
				"regulariser on few rows, not a reason to drop He.", best ? "Small uniform" : "Constant",
			  c->epochs, in.runs[best].fit.val_loss, in.runs[3].fit.val_loss, init_names[3]);
	json_object_set_new(j, "advice", json_string(adv.data));
	sb_free(&adv);
	json_object_set_new(c->out, "init", j);
	if (failed && c->tuning) {
		char *title = xasprintf("Networks on these data gain nothing from distinct hidden units: with %s init the "
					"training loss is %.3f, no better than %.3f with constant init (one effective unit); "
					"check the input scaling and for dead ReLU units.", init_names[good], gf->train_loss,
					cf->train_loss);
		json_t *ev = json_object();
		json_object_set_new(ev, "init", json_string(init_names[good]));
		json_object_set_new(ev, "train_loss", json_num_or_null(gf->train_loss));
		json_object_set_new(ev, "constant_train_loss", json_num_or_null(cf->train_loss));
		json_object_set_new(ev, "constant_distinct_units", json_integer(in.runs[0].distinct_units));
		json_object_set_new(ev, "width", json_integer(in.width));
		json_object_set_new(ev, "dead_relu", json_num_or_null(in.runs[good].health.dead_relu[0]));
		json_object_set_new(ev, "severity_rule", json_string("low: advice on how to train, not a defect"));
		check_finding(c, "init", "initialisation", SEV_LOW, title, ev);
	}
	/* quick runs no capacity sweep: the He run is the health check there */
	if (!c->sb->standard)
		health_finding(c, &in.runs[3].health, "mlp16 (He init)", 0.01);
	return 0;
}

static int check_lr(struct sctx *c, uint64_t seed)
{
	const struct probe_data *d = c->d;
	struct probe_spec s;
	base_spec(&s, 32, seed);
	struct sanity_lr_range lr;
	if (sanity_lr_range(d, c->be, &s, LR_MIN, LR_MAX, c->sb->lr_steps, c->batch, seed, &lr) != 0)
		return -1;
	c->suggested_lr = lr.suggested;
	/* a sweep of fixed rates on the same steps, rows and seeds: the check of
	 * the suggestion, and the default's loss for the advice */
	struct probe_job pj = {.data = d, .specs = &s, .n_probes = 1, .batch_size = c->batch, .epochs = 1};
	long spe = probe_steps_per_epoch(&pj);
	int epochs = (int)((c->sb->lr_steps + spe - 1) / spe);
	double lrs[N_SWEEP], sweep[N_SWEEP];
	for (int i = 0; i < N_SWEEP; i++)
		lrs[i] = pow(10, -4 + i / 4.0);
	int sbest = sanity_lr_sweep(d, c->be, &s, lrs, N_SWEEP, epochs, c->batch, seed, sweep);
	if (sbest < 0)
		return -1;
	double def_loss = sweep[4];   /* 1e-3 */
	json_t *j = json_object(), *pl = json_array(), *pr = json_array(), *ps = json_array(), *runs = json_array();
	for (size_t i = 0; i < lr.n; i++) {
		json_array_append_new(pl, json_num_or_null(lr.lr[i]));
		json_array_append_new(pr, json_num_or_null(lr.loss[i]));
		json_array_append_new(ps, json_num_or_null(lr.smooth[i]));
	}
	json_object_set_new(j, "rule", json_string("Adam, MLP 32; learning rate grown exponentially from 1e-5 to 10; loss "
						   "smoothed (EMA 0.9, debiased); stop when the smoothed loss exceeds 4x "
						   "its minimum; suggested = learning rate at the smoothed minimum / 3. "
						   "Checked by a sweep of 13 fixed rates (1e-4..1e-1) over the same steps. "
						   "Advised: the lower of the suggestion and the sweep's steadiest rate. A "
						   "finding when the advised rate is more than 3x from Adam's default 1e-3 "
						   "and its training loss after those steps is at least 5% below the "
						   "default's"));
	json_object_set_new(j, "lr", pl);
	json_object_set_new(j, "loss", pr);
	json_object_set_new(j, "smooth", ps);
	json_object_set_new(j, "stopped_at", json_integer(lr.stopped_at));
	json_object_set_new(j, "lr_at_min", json_num_or_null(lr.lr_at_min));
	json_object_set_new(j, "lr_steepest", json_num_or_null(lr.lr_steepest));
	json_object_set_new(j, "suggested", json_num_or_null(lr.suggested));
	static const char *const rn[3] = {"too_low", "suggested", "too_high"};
	for (int i = 0; i < 3; i++) {
		json_t *r = json_object();
		json_object_set_new(r, "name", json_string(rn[i]));
		json_object_set_new(r, "lr", json_num_or_null(lr.runs_lr[i]));
		json_object_set_new(r, "fit", fit_json(&lr.runs_fit[i]));
		json_object_set_new(r, "curve", curve_json(&lr.runs[i]));
		json_array_append_new(runs, r);
	}
	json_object_set_new(j, "runs", runs);
	long steps = (long)epochs * spe;
	json_t *sw = json_object(), *sl = json_array(), *sv = json_array();
	for (int i = 0; i < N_SWEEP; i++) {
		json_array_append_new(sl, json_num_or_null(lrs[i]));
		json_array_append_new(sv, json_num_or_null(sweep[i]));
	}
	json_object_set_new(sw, "lr", sl);
	json_object_set_new(sw, "train_loss", sv);
	json_object_set_new(sw, "steps", json_integer(steps));
	json_object_set_new(sw, "best_lr", json_num_or_null(lrs[sbest]));
	json_object_set_new(sw, "suggestion_over_best", json_num_or_null(lr.suggested / lrs[sbest]));
	json_object_set_new(j, "sweep", sw);
	json_object_set_new(j, "default_lr", json_real(DEFAULT_LR));
	json_object_set_new(j, "default_train_loss", json_num_or_null(def_loss));
	double sug_loss = lr.runs_fit[1].train_loss;
	/* The sweep's steadiest rate: each rate judged by the worst loss of itself
	 * and its two neighbours. The range test's minimum sits at the edge of
	 * stability, and on small data the edge is ragged (penguins: 0.002 at
	 * 0.018, 0.023 at 0.032, 0.0002 at 0.056, 0.25 at 0.1, where min/3 gave
	 * 0.1); the advice takes the lower of the two. */
	int steady = 0;
	double steady_worst = INFINITY;
	for (int i = 0; i < N_SWEEP; i++) {
		double w = sweep[i];
		if (i > 0)
			w = fmax(w, sweep[i - 1]);
		if (i + 1 < N_SWEEP)
			w = fmax(w, sweep[i + 1]);
		if (w < steady_worst) {
			steady_worst = w;
			steady = i;
		}
	}
	double advised = fmin(lr.suggested, lrs[steady]);
	c->advised_lr = advised;
	double adv_loss = advised == lrs[steady] ? sweep[steady] : sug_loss;
	json_object_set_new(sw, "steadiest_lr", json_num_or_null(lrs[steady]));
	json_object_set_new(j, "advised", json_num_or_null(advised));
	json_object_set_new(j, "advised_rule", json_string("the lower of the suggestion and the sweep's steadiest rate "
							   "(the rate whose worst loss among itself and its two "
							   "neighbours is lowest)"));
	double ratio = advised / DEFAULT_LR;
	int far = ratio > LR_FAR || ratio < 1 / LR_FAR;
	int better = adv_loss < (1 - LR_GAIN) * def_loss || (isfinite(adv_loss) && !isfinite(def_loss));
	set_advice(j, xasprintf("For Adam on these features start at a learning rate of about %.2g: the range test "
				"suggests %.2g (the rate at the smoothed loss minimum, %.2g, divided by 3), and a sweep of "
				"13 fixed rates over the same %ld steps found %.2g the steadiest (training loss %.3f; %.3f "
				"at the default 1e-3; lowest %.3f at %.2g). These rates are for fast progress early on; "
				"decay the rate over a longer training.", advised, lr.suggested, lr.lr_at_min, steps,
				lrs[steady], sweep[steady], def_loss, sweep[sbest], lrs[sbest]));
	json_object_set_new(c->out, "lr_range", j);
	if (far && better && c->tuning) {
		char *title = xasprintf("Adam makes faster progress on these data at a learning rate of about %.2g than at "
					"the default 1e-3: over the first %ld steps a probe's training loss falls to %.3f "
					"against %.3f (range test suggestion %.2g, steadiest rate of a fixed-rate sweep %.2g).",
					advised, steps, adv_loss, def_loss, lr.suggested, lrs[steady]);
		json_t *ev = json_object();
		json_object_set_new(ev, "optimizer", json_string("adam"));
		json_object_set_new(ev, "advised_lr", json_num_or_null(advised));
		json_object_set_new(ev, "suggested_lr", json_num_or_null(lr.suggested));
		json_object_set_new(ev, "steadiest_lr", json_num_or_null(lrs[steady]));
		json_object_set_new(ev, "default_lr", json_real(DEFAULT_LR));
		json_object_set_new(ev, "steps", json_integer(steps));
		json_object_set_new(ev, "train_loss_advised", json_num_or_null(adv_loss));
		json_object_set_new(ev, "train_loss_default", json_num_or_null(def_loss));
		json_object_set_new(ev, "rows", json_integer((json_int_t)d->n));
		json_object_set_new(ev, "severity_rule", json_string("low: advice on how to train, not a defect"));
		check_finding(c, "lr_range", "learning rate", SEV_LOW, title, ev);
	}
	return 0;
}

static int check_optim(struct sctx *c, uint64_t seed)
{
	struct probe_spec s;
	base_spec(&s, 32, seed);
	struct sanity_optimizers o;
	if (sanity_optimizers(c->d, c->be, &s, c->val, c->epochs, c->batch, 0, seed, &o) != 0)
		return -1;
	json_t *j = json_object(), *runs = json_array();
	json_object_set_new(j, "rule", json_string("steps to reach the target training loss (1.25 x the best final "
						   "training loss of the 20 runs); best = lowest validation loss. A finding "
						   "when the best beats its rival in a confirmation run: another optimizer "
						   "meets Adam with the same schedule at the learning-rate check's rate, "
						   "Adam with a decaying schedule meets Adam at a constant rate ("
						   CONFIRM_RULE ")"));
	json_object_set_new(j, "target_loss", json_num_or_null(o.target_loss));
	for (int i = 0; i < SANITY_N_OPTIM * SANITY_N_SCHED; i++) {
		json_t *r = json_object();
		json_object_set_new(r, "optimizer", json_string(optim_names[o.runs[i].optim]));
		json_object_set_new(r, "schedule", json_string(sched_names[o.runs[i].sched]));
		json_object_set_new(r, "lr", json_num_or_null(o.runs[i].lr));
		json_object_set_new(r, "steps_to_target", json_integer(o.runs[i].steps_to_target));
		json_object_set_new(r, "fit", fit_json(&o.runs[i].fit));
		json_array_append_new(runs, r);
	}
	json_object_set_new(j, "runs", runs);
	json_object_set_new(j, "best", json_integer(o.best));
	const struct sanity_optim_run *b = &o.runs[o.best];
	int ref = PROBE_ADAM * SANITY_N_SCHED + PROBE_LR_CONSTANT;
	const struct sanity_optim_run *a = &o.runs[ref];
	char *bn = xasprintf("%s + %s schedule", optim_names[b->optim], sched_names[b->sched]);
	json_object_set_new(j, "best_name", json_string(bn));
	free(bn);
	json_object_set_new(j, "reference", json_integer(ref));
	struct sanity_pair p = {0};
	int confirmed = 0;
	/* The rival isolates what the best changes. Another optimizer meets Adam
	 * with the same schedule at the rate the learning-rate check advises
	 * (against Adam at a slow rate a faster optimizer would only show the
	 * rate; against a constant rate a decaying schedule would only show the
	 * schedule). Adam with a decaying schedule meets Adam at a constant rate. */
	struct probe_spec ps[2];
	struct probe_job jb = {.data = c->d, .n_probes = 1, .batch_size = c->batch, .epochs = c->epochs};
	long T = probe_total_steps(&jb);
	sanity_optim_spec(&s, b->optim, b->sched, T, &ps[0]);
	int adam = b->optim == PROBE_ADAM;
	sanity_optim_spec(&s, PROBE_ADAM, adam ? PROBE_LR_CONSTANT : b->sched, T, &ps[1]);
	if (!adam && isfinite(c->advised_lr))
		ps[1].lr = (float)c->advised_lr;
	char *rival = adam || ps[1].sched == PROBE_LR_CONSTANT
		? xasprintf("Adam at a constant %.2g%s", ps[1].lr, !adam && isfinite(c->advised_lr)
			    ? ", the learning-rate check's rate" : "")
		: xasprintf("Adam with %s at %.2g%s", sched_text[ps[1].sched], ps[1].lr,
			    isfinite(c->advised_lr) ? ", the learning-rate check's rate" : "");
	if (o.best != ref && c->signal) {
		if (confirm(c, ps, c->epochs, seed, &p) != 0) {
			free(rival);
			return -1;
		}
		confirmed = pair_confirms(&p);
		json_t *cj = pair_json(&p);
		json_object_set_new(cj, "rival", json_string(rival));
		json_object_set_new(j, "confirmation", cj);
	}
	struct strbuf steps;
	sb_init(&steps);
	if (b->steps_to_target >= 0 && a->steps_to_target > b->steps_to_target)
		sb_printf(&steps, "; it reached the target training loss %.3f in %ld steps against %ld for Adam at a "
				  "constant %.2g (%.0f%% fewer)", o.target_loss, b->steps_to_target, a->steps_to_target, a->lr,
			  100.0 * (double)(a->steps_to_target - b->steps_to_target) / (double)a->steps_to_target);
	else if (b->steps_to_target >= 0 && a->steps_to_target < 0)
		sb_printf(&steps, "; it reached the target training loss %.3f in %ld steps, Adam at a constant %.2g never "
				  "did", o.target_loss, b->steps_to_target, a->lr);
	long total = (long)c->epochs * (long)((c->d->n + c->batch - 1) / c->batch);
	if (o.best == ref)
		set_advice(j, xasprintf("Adam at a constant rate (%.2g) reached the lowest validation loss of the 20 "
					"optimizer and schedule pairs after %ld steps (%.3f): the usual choice suits these "
					"data.", b->lr, total, b->fit.val_loss));
	else if (confirmed)
		set_advice(j, xasprintf("%s at lr %.2g with %s converges faster on these data than %s: after %ld steps "
					"its validation loss is %.3f against %.3f on 3 new seeds%s. Use it when training time "
					"matters.", optim_text[b->optim], b->lr, sched_text[b->sched], rival, total,
					p.fit[0].val_loss, p.fit[1].val_loss, steps.len ? steps.data : ""));
	else if (c->signal)
		set_advice(j, xasprintf("%s at lr %.2g with %s reached the lowest validation loss of the 20 runs after %ld "
					"steps (%.3f against %.3f for Adam at a constant %.2g)%s, but on 3 new seeds "
					"against %s it did not hold (difference %.3f, 95%% CI %.3f..%.3f over %zu rows; it won %d "
					"of %d seeds): no change of optimizer is advised on this evidence.",
					optim_text[b->optim], b->lr, sched_text[b->sched], total, b->fit.val_loss,
					a->fit.val_loss, a->lr, steps.len ? steps.data : "", rival, p.diff, p.ci_low,
					p.ci_high, p.n, p.wins, p.seeds));
	else
		set_advice(j, xasprintf("%s at lr %.2g with %s reached the lowest validation loss after %ld steps (%.3f "
					"against %.3f for Adam at a constant %.2g); not judged, the labels look unlearnable.",
					optim_text[b->optim], b->lr, sched_text[b->sched], total, b->fit.val_loss,
					a->fit.val_loss, a->lr));
	json_object_set_new(c->out, "optimizers", j);
	if (confirmed) {
		char *title = xasprintf("%s at lr %.2g with %s converges faster on these data than %s: after %ld steps "
					"its validation loss is %.3f against %.3f on 3 new seeds%s.", optim_text[b->optim],
					b->lr, sched_text[b->sched], rival, total, p.fit[0].val_loss, p.fit[1].val_loss,
					steps.len ? steps.data : "");
		json_t *ev = json_object();
		json_object_set_new(ev, "optimizer", json_string(optim_names[b->optim]));
		json_object_set_new(ev, "schedule", json_string(sched_names[b->sched]));
		json_object_set_new(ev, "lr", json_num_or_null(b->lr));
		json_object_set_new(ev, "val_loss", json_num_or_null(b->fit.val_loss));
		json_object_set_new(ev, "steps_to_target", json_integer(b->steps_to_target));
		json_object_set_new(ev, "reference_optimizer", json_string("adam"));
		json_object_set_new(ev, "reference_schedule", json_string(sched_names[ps[1].sched]));
		json_object_set_new(ev, "reference_lr", json_num_or_null(ps[1].lr));
		json_object_set_new(ev, "reference_text", json_string(rival));
		json_object_set_new(ev, "usual_adam_lr", json_num_or_null(a->lr));
		json_object_set_new(ev, "usual_adam_val_loss", json_num_or_null(a->fit.val_loss));
		json_object_set_new(ev, "reference_steps_to_target", json_integer(a->steps_to_target));
		json_object_set_new(ev, "target_loss", json_num_or_null(o.target_loss));
		json_object_set_new(ev, "steps", json_integer(total));
		json_object_set_new(ev, "confirmed_val_loss", json_num_or_null(p.fit[0].val_loss));
		json_object_set_new(ev, "confirmed_reference_val_loss", json_num_or_null(p.fit[1].val_loss));
		json_object_set_new(ev, "confirmation", pair_json(&p));
		json_object_set_new(ev, "severity_rule", json_string("low: advice on how to train, not a defect"));
		check_finding(c, "optimizers", "optimizer and schedule", SEV_LOW, title, ev);
	}
	free(rival);
	sb_free(&steps);
	return 0;
}

/* "L2 1e-2", "dropout 0.3": the regulariser as the check applied it */
static const char *reg_text(int i)
{
	static const char *const t[SANITY_N_REG] = {"no regularisation", "L1 1e-3", "L2 1e-2", "dropout 0.3",
						    "early stopping (patience 3)"};
	return t[i];
}

static int check_reg(struct sctx *c, uint64_t seed)
{
	struct probe_spec s;
	base_spec(&s, 128, seed);
	struct sanity_regularisation g;
	int epochs = c->epochs * 2;
	if (sanity_regularisation(c->d, c->be, &s, c->val, epochs, c->batch, seed, &g) != 0)
		return -1;
	json_t *j = json_object(), *runs = json_array();
	json_object_set_new(j, "rule", json_string("MLP 128, Adam; gap = validation loss - training loss; none, L1 1e-3, "
						   "L2 1e-2, dropout 0.3, early stopping (patience 3); best = lowest "
						   "validation loss. A finding when the best beats no regularisation in a "
						   "confirmation run (" CONFIRM_RULE ")"));
	for (int i = 0; i < SANITY_N_REG; i++) {
		json_t *r = json_object();
		json_object_set_new(r, "name", json_string(g.runs[i].name));
		json_object_set_new(r, "fit", fit_json(&g.runs[i].fit));
		json_object_set_new(r, "gap", json_num_or_null(g.runs[i].gap));
		json_object_set_new(r, "steps", json_integer(g.runs[i].steps));
		json_array_append_new(runs, r);
	}
	json_object_set_new(j, "runs", runs);
	json_object_set_new(j, "best", json_string(g.runs[g.best].name));
	const struct sanity_reg_run *b = &g.runs[g.best], *none = &g.runs[0];
	struct sanity_pair p = {0};
	int confirmed = 0;
	if (g.best != 0 && c->signal) {
		struct probe_spec ps[2] = {s, s};
		ps[0].l1 = g.best == 1 ? 1e-3f : 0;
		ps[0].l2 = g.best == 2 ? 1e-2f : 0;
		ps[0].dropout = g.best == 3 ? 0.3f : 0;
		ps[0].patience = g.best == 4 ? 3 : 0;
		if (confirm(c, ps, epochs, seed, &p) != 0)
			return -1;
		confirmed = pair_confirms(&p);
		json_object_set_new(j, "confirmation", pair_json(&p));
	}
	if (g.best == 0)
		set_advice(j, xasprintf("No regulariser lowered the validation loss of a 128-unit network over %d epochs "
					"(%.3f without; train/validation gap %.3f): within a training this short it gains "
					"nothing from regularisation.", epochs, none->fit.val_loss, none->gap));
	else if (confirmed)
		set_advice(j, xasprintf("Regularise networks trained on these data: with %s the validation loss of a "
					"128-unit network is %.3f against %.3f without (train/validation gap %.3f against "
					"%.3f; on 3 new seeds %.3f against %.3f).", reg_text(g.best), b->fit.val_loss,
					none->fit.val_loss, b->gap, none->gap, p.fit[0].val_loss, p.fit[1].val_loss));
	else if (c->signal)
		set_advice(j, xasprintf("%s gave the lowest validation loss of a 128-unit network (%.3f against %.3f "
					"without; train/validation gap %.3f against %.3f), but a run on 3 new seeds did not "
					"confirm it (difference %.3f, 95%% CI %.3f..%.3f over %zu rows; it won %d of %d "
					"seeds): regularisation is optional here.", reg_text(g.best), b->fit.val_loss,
					none->fit.val_loss, b->gap, none->gap, p.diff, p.ci_low, p.ci_high, p.n, p.wins,
					p.seeds));
	else
		set_advice(j, xasprintf("%s gave the lowest validation loss of a 128-unit network (%.3f against %.3f "
					"without); not judged, the labels look unlearnable.", reg_text(g.best),
					b->fit.val_loss, none->fit.val_loss));
	json_object_set_new(c->out, "regularisation", j);
	if (confirmed) {
		char *title = xasprintf("Networks overfit these data without regularisation: with %s a 128-unit probe's "
					"validation loss is %.3f against %.3f without (train/validation gap %.3f against "
					"%.3f; on 3 new seeds: %.3f against %.3f).", reg_text(g.best), b->fit.val_loss,
					none->fit.val_loss, b->gap, none->gap, p.fit[0].val_loss, p.fit[1].val_loss);
		json_t *ev = json_object();
		json_object_set_new(ev, "best", json_string(b->name));
		json_object_set_new(ev, "best_text", json_string(reg_text(g.best)));
		json_object_set_new(ev, "val_loss", json_num_or_null(b->fit.val_loss));
		json_object_set_new(ev, "gap", json_num_or_null(b->gap));
		json_object_set_new(ev, "none_val_loss", json_num_or_null(none->fit.val_loss));
		json_object_set_new(ev, "none_gap", json_num_or_null(none->gap));
		json_object_set_new(ev, "confirmed_val_loss", json_num_or_null(p.fit[0].val_loss));
		json_object_set_new(ev, "confirmed_none_val_loss", json_num_or_null(p.fit[1].val_loss));
		json_object_set_new(ev, "confirmation", pair_json(&p));
		json_object_set_new(ev, "severity_rule", json_string("low: advice on how to train, not a defect"));
		check_finding(c, "regularisation", "regularisation", SEV_LOW, title, ev);
	}
	return 0;
}

static void arch_name(struct strbuf *sb, int n_hidden, const int *hidden)
{
	if (n_hidden == 0) {
		sb_puts(sb, "softmax");
		return;
	}
	sb_puts(sb, "mlp");
	for (int l = 0; l < n_hidden; l++)
		sb_printf(sb, "%s%d", l ? "x" : "", hidden[l]);
}

static int write_hpo_csv(const struct stage_ctx *ctx, const struct sanity_hpo *h)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "method,trial,lr,l2,width,dropout,score,best_so_far\n");
	for (int m = 0; m < 3; m++)
		for (size_t t = 0; h->trials[m] && t < h->budget; t++) {
			const struct sanity_hpo_trial *x = &h->trials[m][t];
			sb_printf(&sb, "%s,%zu,%.6g,%.6g,%d,%.4f,%.6g,%.6g\n", method_names[m], t + 1, x->lr, x->l2, x->width,
				  x->dropout, x->score, x->best_so_far);
		}
	char *path = stage_output(ctx, "hpo.csv");
	int rc = file_write_atomic(path, sb.data, sb.len);
	free(path);
	sb_free(&sb);
	return rc;
}

static int check_capacity(struct sctx *c, uint64_t seed, int whole, size_t train_rows)
{
	struct sanity_capacity cap;
	if (sanity_capacity(c->d, c->be, c->val, c->epochs, c->batch, seed, &cap) != 0)
		return -1;
	json_t *j = json_object(), *arr = json_array(), *sizes = json_array(), *health = json_array();
	struct strbuf nm;
	sb_init(&nm);
	const char *names[SANITY_N_ARCH];
	char *owned[SANITY_N_ARCH];
	for (int a = 0; a < SANITY_N_ARCH; a++) {
		nm.len = 0;
		arch_name(&nm, cap.arch[a].n_hidden, cap.arch[a].hidden);
		owned[a] = xstrndup(nm.data ? nm.data : "", nm.len);
		names[a] = owned[a];
		json_t *r = json_object();
		json_object_set_new(r, "architecture", json_string(names[a]));
		json_object_set_new(r, "fit", fit_json(&cap.arch[a].fit));
		json_object_set_new(r, "curve", curve_json(&cap.arch[a].curve));
		json_array_append_new(arr, r);
		json_t *h = health_json(&cap.arch[a].health);
		json_object_set_new(h, "architecture", json_string(names[a]));
		json_array_append_new(health, h);
	}
	sb_free(&nm);
	for (int i = 0; i < SANITY_N_SIZES; i++) {
		json_t *r = json_object();
		json_object_set_new(r, "share", json_num_or_null(cap.size_share[i]));
		json_object_set_new(r, "rows", json_integer((json_int_t)cap.size_rows[i]));
		json_object_set_new(r, "fit", fit_json(&cap.size_fit[i]));
		json_array_append_new(sizes, r);
	}
	json_object_set_new(j, "rule", json_string("architectures of growing capacity; overfitting starts at the first "
						   "one past the best (lowest validation loss) whose validation loss is "
						   "higher while its training loss is lower. Learning curve: MLP 32 on "
						   "nested 1/16..1 of the rows; still rising when the last doubling gained "
						   "more than 1 point of validation accuracy"));
	json_object_set_new(j, "architectures", arr);
	json_object_set_new(j, "best", json_string(names[cap.best_arch]));
	json_object_set_new(j, "overfit_from", cap.overfit_from >= 0 ? json_string(names[cap.overfit_from]) : json_null());
	json_object_set_new(j, "learning_curve", sizes);
	json_object_set_new(j, "still_rising", json_boolean(cap.still_rising));
	json_object_set_new(j, "learning_curve_on_all_rows", json_boolean(whole));
	const struct sanity_fit *bf = &cap.arch[cap.best_arch].fit;
	const struct sanity_fit *l2 = &cap.size_fit[SANITY_N_SIZES - 2], *l1 = &cap.size_fit[SANITY_N_SIZES - 1];
	struct strbuf adv;
	sb_init(&adv);
	sb_printf(&adv, "The lowest validation loss is at %s (%.3f, accuracy %.1f%%)", names[cap.best_arch], bf->val_loss,
		  100 * bf->val_acc);
	if (cap.overfit_from >= 0)
		sb_printf(&adv, "; from %s on validation loss rises (%.3f) while training loss falls: a network about "
				"the size of %s is enough%s", names[cap.overfit_from], cap.arch[cap.overfit_from].fit.val_loss,
			  names[cap.best_arch], whole ? "" : " on this subsample (more rows move that point to larger models)");
	else if (cap.best_arch == SANITY_N_ARCH - 1) {
		/* the largest wins; on nearly separable data that says nothing
		 * about needing more (penguins: 100% from mlp32 on) */
		int small = cap.best_arch;
		for (int a = 0; a < cap.best_arch; a++)
			if (cap.arch[a].fit.val_acc >= bf->val_acc - 0.005) {
				small = a;
				break;
			}
		if (small < cap.best_arch)
			sb_printf(&adv, ", the largest tried, but %s already reaches validation accuracy %.1f%%: a model "
					"that size is enough", names[small], 100 * cap.arch[small].fit.val_acc);
		else
			sb_puts(&adv, ", the largest tried: more capacity may still help");
	}
	sb_printf(&adv, ". Learning curve (MLP 32): validation accuracy %.1f%% at %zu rows, %.1f%% at %zu: %s", 100 * l2->val_acc,
		  cap.size_rows[SANITY_N_SIZES - 2], 100 * l1->val_acc, cap.size_rows[SANITY_N_SIZES - 1],
		  !cap.still_rising ? "flat, more rows of the same kind will not help much."
		  : whole ? "still rising: more labelled data should help."
		  : "still rising on this subsample (not judged for the full train set).");
	json_object_set_new(j, "advice", json_string(adv.data));
	sb_free(&adv);
	json_object_set_new(c->out, "capacity", j);

	json_t *hj = json_object();
	json_object_set_new(hj, "rule", json_string("per layer gradient norm / weight norm: vanishing below 1e-5 at the "
						    "end and either 1e-3 of the output layer's or with the training loss "
						    "above 0.9 of its start; exploding above 10 (or non-finite) at any "
						    "record; dead ReLU share above 0.5 flagged"));
	json_object_set_new(hj, "architectures", health);
	/* name what is flagged, architecture by architecture */
	struct strbuf grads, dead;
	sb_init(&grads);
	sb_init(&dead);
	int any = 0;
	for (int a = 0; a < SANITY_N_ARCH; a++) {
		const struct sanity_health *h = &cap.arch[a].health;
		any |= h->any_flag;
		const char *state = NULL;
		double ratio = NAN;
		int l = flagged_layer(h, &state, &ratio);
		if (l >= 0)
			sb_printf(&grads, "%s%s in %s layer %d (gradient norm / weight norm %.3g)", grads.len ? "; " : "",
				  state, names[a], l + 1, ratio);
		for (int k = 0; k + 1 < h->n_layers; k++)
			if (h->dead_flag[k])
				sb_printf(&dead, "%s%s layer %d (%.0f%%)", dead.len ? ", " : "", names[a], k + 1,
					  100 * h->dead_relu[k]);
	}
	json_object_set_new(hj, "flagged", json_boolean(any));
	const struct sanity_health *dh = &cap.arch[SANITY_N_ARCH - 1].health;
	sb_init(&adv);
	if (grads.len)
		sb_printf(&adv, "Gradients at Adam lr 0.003: %s. Exploding: lower the learning rate, clip gradients or use "
				"fewer layers; vanishing: He/Xavier initialisation, normalised inputs or fewer layers.",
			  grads.data);
	else
		sb_printf(&adv, "No layer's gradients vanished or exploded in any architecture (up to %s at Adam lr "
				"0.003).", names[SANITY_N_ARCH - 1]);
	if (dead.len)
		sb_printf(&adv, " More than half the ReLU units were dead on the last batch in %s: such units no "
				"longer learn; a lower learning rate or leaky activations keep more of them alive.",
			  dead.data);
	else if (!grads.len)
		sb_puts(&adv, " No ReLU layer went mostly dead: training is numerically healthy.");
	json_object_set_new(hj, "advice", json_string(adv.data));
	sb_free(&adv);
	sb_free(&grads);
	sb_free(&dead);
	json_object_set_new(c->out, "health", hj);
	/* the deepest architecture is where vanishing/exploding shows first */
	health_finding(c, dh, names[SANITY_N_ARCH - 1], 0.003);

	/* with labels nothing can learn, capacity and data-size advice is noise
	 * next to the finding that says so; and a net that overfits a subsample
	 * need not overfit the full train set, so both need every train row */
	if (cap.overfit_from >= 0 && c->signal && whole) {
		const struct sanity_fit *of = &cap.arch[cap.overfit_from].fit;
		char *title = xasprintf("Validation loss is lowest at %s (%.3f) and rises from %s on (%.3f) while training "
					"loss keeps falling: more capacity overfits; prefer about %s or regularise.",
					names[cap.best_arch], bf->val_loss, names[cap.overfit_from], of->val_loss,
					names[cap.best_arch]);
		json_t *ev = json_object();
		json_object_set_new(ev, "best", json_string(names[cap.best_arch]));
		json_object_set_new(ev, "overfit_from", json_string(names[cap.overfit_from]));
		json_object_set_new(ev, "best_val_loss", json_num_or_null(bf->val_loss));
		json_object_set_new(ev, "best_train_loss", json_num_or_null(bf->train_loss));
		json_object_set_new(ev, "overfit_val_loss", json_num_or_null(of->val_loss));
		json_object_set_new(ev, "overfit_train_loss", json_num_or_null(of->train_loss));
		json_object_set_new(ev, "severity_rule", json_string("low: advice on model size, not a defect"));
		add_finding(c->findings, "capacity", SEV_LOW, title, ev);
		free(title);
	}
	/* on a subsample a rising curve says nothing about the full train set */
	if (cap.still_rising && whole && c->signal) {
		char *title = xasprintf("Validation accuracy still rises with training rows (%.1f%% -> %.1f%% from %zu to "
					"%zu rows): more labelled data would likely help.", 100 * l2->val_acc,
					100 * l1->val_acc, cap.size_rows[SANITY_N_SIZES - 2], cap.size_rows[SANITY_N_SIZES - 1]);
		json_t *ev = json_object();
		json_object_set_new(ev, "train_rows", json_integer((json_int_t)train_rows));
		json_object_set_new(ev, "rows_before", json_integer((json_int_t)cap.size_rows[SANITY_N_SIZES - 2]));
		json_object_set_new(ev, "rows_after", json_integer((json_int_t)cap.size_rows[SANITY_N_SIZES - 1]));
		json_object_set_new(ev, "val_acc_before", json_num_or_null(l2->val_acc));
		json_object_set_new(ev, "val_acc_after", json_num_or_null(l1->val_acc));
		json_object_set_new(ev, "severity_rule", json_string("medium: the last doubling of rows gained > 1 point"));
		add_finding(c->findings, "insufficient_data", SEV_MEDIUM, title, ev);
		free(title);
	}
	for (int a = 0; a < SANITY_N_ARCH; a++)
		free(owned[a]);
	return 0;
}

/* The lowest validation loss of a final run up to its stop, and its epoch
 * (records are one per epoch). */
static double final_lowest(const struct sanity_final_run *f, int *epoch)
{
	double best = INFINITY;
	*epoch = 0;
	long spe = f->epochs > 0 ? f->steps / f->epochs : 1;
	for (size_t k = 0; k < f->curve.n; k++)
		if (f->curve.step[k] <= f->steps && f->curve.val_loss[k] < best) {
			best = f->curve.val_loss[k];
			*epoch = (int)(f->curve.step[k] / (spe > 0 ? spe : 1));
		}
	return best;
}

/* Validation loss that rose this much above its lowest while the training
 * loss fell: the run overfitted on the way to its training-loss plateau. */
#define FINAL_ROSE 1.05

static json_t *final_json(const struct sanity_final_run *f)
{
	json_t *o = json_object();
	int ep;
	double low = final_lowest(f, &ep);
	json_object_set_new(o, "lowest_val_loss", json_num_or_null(low));
	json_object_set_new(o, "lowest_val_epoch", json_integer(ep));
	json_object_set_new(o, "epochs", json_integer(f->epochs));
	json_object_set_new(o, "steps", json_integer(f->steps));
	json_object_set_new(o, "stopped_by", json_string(f->stopped ? "plateau" : "max_epochs"));
	json_object_set_new(o, "train_loss_as_trained", json_num_or_null(f->train_loss));
	json_object_set_new(o, "fit", fit_json(&f->fit));
	json_object_set_new(o, "curve", curve_json(&f->curve));
	return o;
}

/* The final training's epoch cap: the level's row visits over the train rows. */
static int final_epochs(const struct sanity_budget *sb, size_t train_rows)
{
	double e = ceil(sb->final_visits / (double)(train_rows ? train_rows : 1));
	return e < FINAL_MIN_EPOCHS ? FINAL_MIN_EPOCHS : e > FINAL_MAX_EPOCHS ? FINAL_MAX_EPOCHS : (int)e;
}

static int check_hpo(struct sctx *c, uint64_t seed)
{
	const struct sanity_budget *sb = c->sb;
	struct sanity_hpo h;
	if (sanity_hpo(c->d, c->be, c->val, sb->hpo_trials, 4, c->hpo_epochs, c->batch, seed, &h) != 0)
		return -1;
	json_t *j = json_object(), *methods = json_array();
	json_object_set_new(j, "rule", json_string("lr 1e-4..1e-1, L2 1e-6..1e-1, width 8..256 (log), dropout 0..0.5; "
						   "score = -validation loss after a fixed number of Adam epochs; "
						   "grid, random and Bayesian (GP, expected improvement) on the same "
						   "budget, 4 trials per batched job. The best trial then trains on every "
						   "budgeted train row but a seeded 10% held out to score it, beside the "
						   "default (Adam lr 1e-3, L2 1e-4, 128 units, no dropout), each until its "
						   "training loss (mean over an epoch) has not fallen by 0.1% relative to "
						   "its best for 3 epochs in a row, or the epoch cap; a finding when the "
						   "best beats the default on the held-out rows (95% interval of the "
						   "row-wise loss difference below 0, and at least 1% of the loss)"));
	json_object_set_new(j, "trials_per_method", json_integer((json_int_t)h.budget));
	json_object_set_new(j, "epochs", json_integer(c->hpo_epochs));
	const struct sanity_hpo_trial *top = NULL;
	for (int m = 0; m < 3; m++) {
		size_t best = 0;
		for (size_t t = 1; t < h.budget; t++)
			if (h.trials[m][t].score > h.trials[m][best].score)
				best = t;
		const struct sanity_hpo_trial *x = &h.trials[m][best];
		if (m == h.best_method)
			top = x;
		json_t *r = json_object();
		json_object_set_new(r, "method", json_string(method_names[m]));
		json_object_set_new(r, "best_score", json_num_or_null(x->score));
		json_object_set_new(r, "best_trial", json_integer((json_int_t)best + 1));
		json_object_set_new(r, "lr", json_num_or_null(x->lr));
		json_object_set_new(r, "l2", json_num_or_null(x->l2));
		json_object_set_new(r, "width", json_integer(x->width));
		json_object_set_new(r, "dropout", json_num_or_null(x->dropout));
		json_object_set_new(r, "val_acc", json_num_or_null(x->val_acc));
		json_t *bsf = json_array();
		for (size_t t = 0; t < h.budget; t++)
			json_array_append_new(bsf, json_num_or_null(h.trials[m][t].best_so_far));
		json_object_set_new(r, "best_so_far", bsf);
		json_array_append_new(methods, r);
	}
	json_object_set_new(j, "methods", methods);
	json_object_set_new(j, "best_method", json_string(method_names[h.best_method]));

	/* the seed's last step: the best trial on the whole (budgeted) train set,
	 * until its training loss stops improving; the default beside it, so the
	 * advice says what the search bought */
	struct probe_spec fs[2];
	base_spec(&fs[0], top->width, seed + 11);
	fs[0].lr = (float)top->lr;
	fs[0].l2 = (float)top->l2;
	fs[0].dropout = (float)top->dropout;
	base_spec(&fs[1], DEFAULT_WIDTH, seed + 12);
	fs[1].l2 = (float)DEFAULT_L2;
	uint8_t *fval = sanity_val_mask(c->all, FINAL_VAL_SHARE, seed ^ 0xf1a1);
	size_t n_val = 0, n_train = 0;
	for (size_t i = 0; i < c->all->n; i++) {
		n_val += fval[i] && c->all->y[i] >= 0;
		n_train += !fval[i] && c->all->y[i] >= 0;
	}
	int max_epochs = final_epochs(sb, n_train);
	struct sanity_final_run fr[2];
	double t0 = now_seconds();
	int rc = sanity_final(c->all, c->be, fs, 2, fval, max_epochs, FINAL_PATIENCE, c->batch, seed + 13, fr);
	double final_seconds = now_seconds() - t0;
	free(fval);
	if (rc != 0) {
		sanity_hpo_free(&h);
		json_decref(j);
		return -1;
	}
	double diff, lo, hi;
	sanity_paired_diff(fr[0].val_row_loss, fr[1].val_row_loss, fr[0].n_val, &diff, &lo, &hi);
	json_t *fj = json_object();
	json_object_set_new(fj, "train_rows", json_integer((json_int_t)n_train));
	json_object_set_new(fj, "val_rows", json_integer((json_int_t)n_val));
	json_object_set_new(fj, "max_epochs", json_integer(max_epochs));
	json_object_set_new(fj, "patience", json_integer(FINAL_PATIENCE));
	json_object_set_new(fj, "min_rel_improvement", json_real(SANITY_PLATEAU_REL));
	/* the work done: both specs to the cap in one job, then each that stopped
	 * sooner again up to its stop (sanity.h) */
	double visits = 2.0 * max_epochs;
	for (int i = 0; i < 2; i++)
		visits += fr[i].stopped && fr[i].epochs < max_epochs ? fr[i].epochs : 0;
	json_object_set_new(fj, "row_visits", json_real(visits * (double)n_train));
	json_object_set_new(fj, "seconds", json_real(final_seconds));
	json_t *bj = final_json(&fr[0]);
	json_object_set_new(bj, "lr", json_num_or_null(top->lr));
	json_object_set_new(bj, "l2", json_num_or_null(top->l2));
	json_object_set_new(bj, "width", json_integer(top->width));
	json_object_set_new(bj, "dropout", json_num_or_null(top->dropout));
	json_object_set_new(bj, "search_val_loss", json_num_or_null(top->val_loss));
	json_object_set_new(fj, "best", bj);
	json_t *dj = final_json(&fr[1]);
	json_object_set_new(dj, "lr", json_real(DEFAULT_LR));
	json_object_set_new(dj, "l2", json_real(DEFAULT_L2));
	json_object_set_new(dj, "width", json_integer(DEFAULT_WIDTH));
	json_object_set_new(dj, "dropout", json_real(0));
	json_object_set_new(fj, "default", dj);
	json_object_set_new(fj, "difference", estimate_json(diff, lo, hi, (long long)fr[0].n_val, "no held-out rows"));
	json_object_set_new(j, "final", fj);
	int confirmed = fr[0].n_val >= 2 && hi < 0 && -diff >= MIN_REL_GAIN * fr[1].fit.val_loss;
	int worse = fr[0].n_val >= 2 && lo > 0;
	const struct sanity_final_run *b = &fr[0], *d = &fr[1];
	char *cfg = xasprintf("lr %.2g, L2 %.2g, %d hidden units, dropout %.2f", top->lr, top->l2, top->width,
			      top->dropout);
	char *run = xasprintf("trained on %zu rows until its training loss stopped improving (%d epochs, %ld steps%s)",
			      n_train, b->epochs, b->steps, b->stopped ? "" : ", the cap");
	set_advice(j, xasprintf("Best of %zu trials (%s search won): %s. Then %s: validation loss %.3f (accuracy "
				"%.1f%%, training loss %.3f) on %zu held-out rows, against %.3f (%.1f%%, training loss "
				"%.3f) for the default (Adam lr 1e-3, L2 1e-4, 128 units) trained by the same rule (%d "
				"epochs%s): %s", 3 * h.budget, method_names[h.best_method], cfg, run, b->fit.val_loss,
				100 * b->fit.val_acc, b->fit.train_loss, n_val, d->fit.val_loss, 100 * d->fit.val_acc,
				d->fit.train_loss, d->epochs, d->stopped ? "" : ", the cap",
				confirmed ? "train networks on these data with the search's setting."
				: worse ? "the default does better on the full rows; the search's short trials on a "
					  "subsample favoured a setting that does not carry over."
					: "no clear gain over the default; tuning these hyper-parameters buys little here."));
	/* the seed's stopping rule assumes rows enough not to overfit before the
	 * training loss flattens; say so where the curve shows otherwise */
	struct strbuf rose;
	sb_init(&rose);
	for (int i = 0; i < 2; i++) {
		int ep;
		double low = final_lowest(&fr[i], &ep);
		if (fr[i].fit.val_loss > FINAL_ROSE * low)
			sb_printf(&rose, "%s%s's at epoch %d (%.3f against %.3f at the stop)", rose.len ? " and the " : "",
				  i ? "default" : "best", ep, low, fr[i].fit.val_loss);
	}
	if (rose.len) {
		const char *a = json_string_value(json_object_get(j, "advice"));
		char *t = xasprintf("%s Validation loss was lowest well before the stop (the %s) and rose while the "
				    "training loss fell: on data this size stop on validation loss instead.", a, rose.data);
		set_advice(j, t);
	}
	sb_free(&rose);
	json_object_set_new(j, "final_advice_rule", json_string("advised when the best beats the default on the "
								 "held-out rows (interval below 0, >= 1% of the loss)"));
	json_object_set_new(c->out, "hpo", j);
	if (confirmed && c->signal) {
		char *title = xasprintf("A hyper-parameter search found a better setting for networks on these data (%s): "
					"%s, it reaches validation loss %.3f against %.3f for the default (Adam lr 1e-3, L2 "
					"1e-4, 128 units; difference %.3f, 95%% CI %.3f..%.3f, %zu held-out rows).", cfg, run,
					b->fit.val_loss, d->fit.val_loss, diff, lo, hi, n_val);
		json_t *ev = json_object();
		json_object_set_new(ev, "method", json_string(method_names[h.best_method]));
		json_object_set_new(ev, "trials", json_integer((json_int_t)(3 * h.budget)));
		json_object_set_new(ev, "lr", json_num_or_null(top->lr));
		json_object_set_new(ev, "l2", json_num_or_null(top->l2));
		json_object_set_new(ev, "width", json_integer(top->width));
		json_object_set_new(ev, "dropout", json_num_or_null(top->dropout));
		json_object_set_new(ev, "train_rows", json_integer((json_int_t)n_train));
		json_object_set_new(ev, "val_rows", json_integer((json_int_t)n_val));
		json_object_set_new(ev, "epochs", json_integer(b->epochs));
		json_object_set_new(ev, "steps", json_integer(b->steps));
		json_object_set_new(ev, "stopped_by", json_string(b->stopped ? "plateau" : "max_epochs"));
		json_object_set_new(ev, "train_loss", json_num_or_null(b->fit.train_loss));
		json_object_set_new(ev, "val_loss", json_num_or_null(b->fit.val_loss));
		json_object_set_new(ev, "val_acc", json_num_or_null(b->fit.val_acc));
		json_object_set_new(ev, "default_val_loss", json_num_or_null(d->fit.val_loss));
		json_object_set_new(ev, "default_val_acc", json_num_or_null(d->fit.val_acc));
		json_object_set_new(ev, "default_epochs", json_integer(d->epochs));
		json_object_set_new(ev, "difference", estimate_json(diff, lo, hi, (long long)n_val, "no held-out rows"));
		json_object_set_new(ev, "severity_rule", json_string("low: advice on how to train, not a defect"));
		check_finding(c, "hpo", "hyper-parameter search", SEV_LOW, title, ev);
	}
	free(cfg);
	free(run);
	sanity_final_free(fr, 2);
	rc = write_hpo_csv(c->ctx, &h);
	sanity_hpo_free(&h);
	return rc;
}

static int check_distill(struct sctx *c, const struct probe_data *td, uint64_t seed, const char *teacher_name)
{
	struct sanity_distill dd;
	if (sanity_distill(td, c->be, c->val, DISTILL_WIDTH, DISTILL_T, c->epochs * 2, c->batch, seed, &dd) != 0)
		return -1;
	size_t n_val = 0;
	for (size_t i = 0; i < td->n; i++)
		n_val += c->val[i] && td->y[i] >= 0;
	json_t *j = json_object();
	json_object_set_new(j, "rule", json_string("student MLP 8 trained on alpha 0.7 x T^2 KL(teacher_T || student_T) + "
						   "0.3 x cross-entropy, T = 2, on the rows that are not held out; "
						   "fidelity = share of held-out rows where student and teacher agree; "
						   "the student beats the teacher when its accuracy is higher by > 1 point "
						   "and the paired 95% interval of the difference lies above 0; a finding "
						   "only when the teacher is the audited model"));
	json_object_set_new(j, "teacher", json_string(teacher_name));
	json_object_set_new(j, "fidelity", json_num_or_null(dd.fidelity));
	json_object_set_new(j, "student_acc", json_num_or_null(dd.student_acc));
	json_object_set_new(j, "teacher_acc", json_num_or_null(dd.teacher_acc));
	json_object_set_new(j, "student_loss", json_num_or_null(dd.student_loss));
	json_object_set_new(j, "teacher_loss", json_num_or_null(dd.teacher_loss));
	json_object_set_new(j, "student_beats_teacher", json_boolean(dd.student_beats_teacher));
	json_object_set_new(j, "reasons", dd.reasons ? json_string(dd.reasons) : json_null());
	json_object_set_new(j, "val_rows", json_integer((json_int_t)n_val));
	json_object_set_new(j, "acc_diff_ci", json_pack("[oo]", json_num_or_null(dd.diff_low), json_num_or_null(dd.diff_high)));
	/* in data mode the teacher is the largest reference probe, not a model
	 * anyone ships: its result is advice about model size, not a finding */
	int model = teacher_name && !strcmp(teacher_name, "the audited model");
	json_object_set_new(j, "teacher_is_audited_model", json_boolean(model));
	if (dd.student_beats_teacher)
		set_advice(j, xasprintf("A small student (MLP 8, T = 2) distilled from %s beats it on %zu held-out rows "
					"(accuracy %.3f against %.3f, 95%% CI of the difference %+.3f..%+.3f): %s", teacher_name,
					n_val, dd.student_acc, dd.teacher_acc, dd.diff_low, dd.diff_high,
					model ? "the model likely overfits; regularise or shrink it."
					      : "a network this small suits these data as well as the largest probe."));
	else if (dd.student_acc > dd.teacher_acc + 0.01)
		set_advice(j, xasprintf("A small student (MLP 8, T = 2) distilled from %s scores higher on %zu held-out rows "
					"(accuracy %.3f against %.3f) but within noise (95%% CI of the difference "
					"%+.3f..%+.3f): a much smaller model would do at least as well.", teacher_name, n_val,
					dd.student_acc, dd.teacher_acc, dd.diff_low, dd.diff_high));
	else if (dd.student_acc >= dd.teacher_acc - 0.02)
		set_advice(j, xasprintf("A small student (MLP 8, T = 2) distilled from %s agrees with it on %.1f%% of %zu "
					"held-out rows and keeps its accuracy (%.3f against %.3f): a much smaller model "
					"would do.", teacher_name, 100 * dd.fidelity, n_val, dd.student_acc, dd.teacher_acc));
	else
		set_advice(j, xasprintf("A small student (MLP 8, T = 2) distilled from %s agrees with it on %.1f%% of %zu "
					"held-out rows but loses accuracy (%.3f against %.3f): the teacher's extra capacity "
					"earns its keep.", teacher_name, 100 * dd.fidelity, n_val, dd.student_acc,
					dd.teacher_acc));
	json_object_set_new(c->out, "distill", j);
	if (dd.student_beats_teacher && c->signal && model) {
		char *title = xasprintf("A small student distilled from %s beats it on held-out rows (accuracy %.3f "
					"against %.3f, 95%% CI of the difference %+.3f..%+.3f). Likely reasons: %s",
					teacher_name, dd.student_acc, dd.teacher_acc, dd.diff_low, dd.diff_high,
					dd.reasons ? dd.reasons : "the teacher overfits.");
		json_t *ev = json_object();
		json_object_set_new(ev, "teacher", json_string(teacher_name));
		json_object_set_new(ev, "student", json_string("mlp8"));
		json_object_set_new(ev, "student_acc", json_num_or_null(dd.student_acc));
		json_object_set_new(ev, "teacher_acc", json_num_or_null(dd.teacher_acc));
		json_object_set_new(ev, "acc_diff", estimate_json(dd.student_acc - dd.teacher_acc, dd.diff_low,
								  dd.diff_high, (long long)n_val, "no held-out rows"));
		json_object_set_new(ev, "fidelity", json_num_or_null(dd.fidelity));
		json_object_set_new(ev, "val_rows", json_integer((json_int_t)n_val));
		json_object_set_new(ev, "severity_rule", json_string("medium: the model generalises worse than a small "
								     "network distilled from it"));
		check_finding(c, "distill", "distillation", SEV_MEDIUM, title, ev);
	}
	return 0;
}

/* ---- entry ---- */

int probes_sanity(const struct stage_ctx *ctx, const struct probe_backend *be, const char *level,
		  const struct probe_data *all, const float *teacher, const char *teacher_name, int learnable,
		  uint64_t seed, json_t *findings)
{
	const struct sanity_budget *sb = &sbudgets[1];
	for (size_t i = 0; i < sizeof sbudgets / sizeof sbudgets[0]; i++)
		if (level && !strcmp(level, sbudgets[i].level))
			sb = &sbudgets[i];
	size_t n = all->n, d = all->d, k = (size_t)all->n_classes;
	double t_start = now_seconds();

	/* a seeded subsample (partial Fisher-Yates, then frame order) */
	size_t m = n < sb->rows ? n : sb->rows;
	size_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	struct rng g;
	rng_seed(&g, seed * 0x9E3779B97F4A7C15ULL + 0x5A17);
	for (size_t j = 0; j < m && m < n; j++) {
		size_t t = j + (size_t)rng_below(&g, n - j), v = idx[j];
		idx[j] = idx[t];
		idx[t] = v;
	}
	float *x = xmalloc((m ? m : 1) * d * sizeof *x);
	int32_t *y = xmalloc((m ? m : 1) * sizeof *y);
	float *tp = teacher ? xmalloc((m ? m : 1) * k * sizeof *tp) : NULL;
	for (size_t i = 0; i < m; i++) {
		memcpy(x + i * d, all->x + idx[i] * d, d * sizeof *x);
		y[i] = all->y[idx[i]];
		if (tp)
			memcpy(tp + i * k, teacher + idx[i] * k, k * sizeof *tp);
	}
	free(idx);
	struct probe_data data = {.n = m, .d = d, .x = x, .y = y, .n_classes = all->n_classes};
	uint8_t *val = sanity_val_mask(&data, VAL_SHARE, seed + 17);

	json_t *out = json_object(), *secs = json_object();
	struct sctx c = {.ctx = ctx, .be = be, .sb = sb, .d = &data, .all = all, .val = val, .batch = 32,
			 .learnable = learnable, .signal = learnable != 0, .tuning = sb->standard && learnable != 0,
			 .suggested_lr = NAN, .advised_lr = NAN, .out = out,
			 .findings = findings};
	json_object_set_new(out, "level", json_string(sb->level));
	json_object_set_new(out, "rows", json_integer((json_int_t)m));
	json_object_set_new(out, "train_rows", json_integer((json_int_t)n));
	json_object_set_new(out, "subsampled", json_boolean(m < n));
	json_object_set_new(out, "val_share", json_real(VAL_SHARE));
	json_object_set_new(out, "batch", json_integer((json_int_t)c.batch));
	c.epochs = steps_epochs(sb, m, c.batch, sb->epochs);
	c.hpo_epochs = steps_epochs(sb, m, c.batch, sb->hpo_epochs);
	json_object_set_new(out, "epochs", json_integer(c.epochs));
	json_object_set_new(out, "epochs_rule", json_string("the level's epochs (standard 6, search trials 4), "
							    "stretched on fewer rows than the level's subsample "
							    "so that the comparison runs take as many steps"));

	double t = now_seconds();
#define TIMED(name, call)                                                          \
	do {                                                                       \
		if (rc == 0)                                                       \
			rc = (call);                                               \
		double now_ = now_seconds();                                       \
		json_object_set_new(secs, name, json_real(now_ - t));              \
		t = now_;                                                          \
	} while (0)
	int rc = 0;
	TIMED("overfit_batch", check_overfit(&c, seed + 1));
	TIMED("gradient_check", check_gradient(&c, seed + 2));
	TIMED("init", check_init(&c, seed + 3));
	TIMED("lr_range", check_lr(&c, seed + 4));
	if (sb->standard) {
		TIMED("optimizers", check_optim(&c, seed + 5));
		TIMED("regularisation", check_reg(&c, seed + 6));
		TIMED("capacity_and_health", check_capacity(&c, seed + 7, m == n, n));
		TIMED("hpo", check_hpo(&c, seed + 8));
		if (tp) {
			struct probe_data td = data;
			td.teacher = tp;
			TIMED("distill", check_distill(&c, &td, seed + 9, teacher_name));
		}
	}
#undef TIMED
	if (rc == 0 && !sb->standard) {
		/* quick: health is read off the init check's runs (init.runs[].health) */
		json_t *hj = json_object();
		json_object_set_new(hj, "see", json_string("init.runs[].health"));
		json_object_set_new(out, "health", hj);
	}
	json_object_set_new(secs, "total", json_real(now_seconds() - t_start));
	json_object_set_new(out, "seconds", secs);
	if (rc == 0)
		rc = stage_write_json(ctx, "sanity.json", out);
	if (rc == 0 && !sb->standard) {
		/* the stage's outputs are fixed: an empty search table says none ran */
		char *path = stage_output(ctx, "hpo.csv");
		static const char hdr[] = "method,trial,lr,l2,width,dropout,score,best_so_far\n";
		rc = file_write_atomic(path, hdr, sizeof hdr - 1);
		free(path);
	}
	json_decref(out);
	free(val);
	free(x);
	free(y);
	free(tp);
	return rc;
}
