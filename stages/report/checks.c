/* checks.c - the seed's training checks of probes/sanity.json as one line
 * each, for the report's appendix (markdown.c) and the workbook's Training
 * checks sheet (xlsx.c).
 *
 * Every check of sanity.json carries its own "advice": the probes stage wrote
 * it after every rule it applies (confirmation runs on new seeds, the final
 * training of the search's best, the thresholds of the run), so it is the
 * line a user acts on. The report composes no advice of its own that could
 * contradict it; it adds a short verdict and the measurements the advice does
 * not state. Runs from before the checks wrote advice get the wording the
 * report used then. One composer serves the page and the workbook, so the two
 * cannot tell a user different things. All text here is plain: each writer
 * escapes it for its output. */
#include "model.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

static const char *str_of(const json_t *j)
{
	const char *s = json_string_value(j);
	return s ? s : "";
}

static double num_at(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static long long int_at(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static const json_t *fit_of(const json_t *run)
{
	return json_object_get(run, "fit");
}

static void line_start(struct check_line *c, const char *name)
{
	c->name = name;
	c->alarm = c->own = 0;
	struct strbuf *b[] = {&c->verdict, &c->advice, &c->numbers};
	for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
		b[i]->len = 0;
		b[i]->data[0] = 0;
	}
}

/* The check's own advice into c->advice; 0 when it wrote none (older runs),
 * and the caller composes the old wording. */
static int own_advice(struct check_line *c, const json_t *check)
{
	const char *a = json_string_value(json_object_get(check, "advice"));
	if (!a || !*a)
		return 0;
	sb_puts(&c->advice, a);
	return c->own = 1;
}

static void line_overfit(struct check_line *c, const json_t *o)
{
	int passed = json_is_true(json_object_get(o, "passed"));
	const char *v = str_of(json_object_get(o, "verdict"));
	line_start(c, "Overfit a mini-batch");
	sb_printf(&c->verdict, "%s%s%s", passed ? "passed" : "failed", *v ? ": " : "", v);
	c->alarm = !passed;
	if (own_advice(c, o))
		return;   /* it states the batch, the steps and the conflicts */
	sb_printf(&c->numbers, "MLP %lld reached %.1f%% on %lld rows in %lld of %lld steps; %lld conflicting duplicate pairs",
		  int_at(o, "width"), 100 * num_at(o, "final_acc"), int_at(o, "rows"), int_at(o, "steps"),
		  int_at(o, "max_steps"), int_at(o, "n_conflicts"));
	sb_puts(&c->advice, !strcmp(v, "overlapping classes")
			    ? "The classes overlap (some error is irreducible); held-out rows are learned: no defect."
			    : passed ? "The features carry signal; a model of yours that cannot fit a batch this small has a bug."
			    : int_at(o, "n_conflicts") > 0
			    ? "Fix or drop the conflicting duplicates (identical rows, different labels) before training."
			    : "The labels look unrelated to the features: check the join and the label column first.");
}

static void line_gradient(struct check_line *c, const json_t *g)
{
	int passed = json_is_true(json_object_get(g, "passed"));
	line_start(c, "Gradient check");
	sb_puts(&c->verdict, passed ? "passed" : "failed");
	c->alarm = !passed;
	if (own_advice(c, g))
		return;   /* it states the error and the tolerance */
	sb_printf(&c->numbers, "Largest relative error %.2g (tolerance %.0e)", num_at(g, "max_rel_err"),
		  num_at(g, "tolerance"));
	sb_puts(&c->advice, passed ? "The probes' gradients are right: their results can be trusted."
				   : "The probe engine's gradients are wrong: do not trust the probe results.");
}

static void line_init(struct check_line *c, const json_t *in)
{
	const json_t *runs = json_object_get(in, "runs");
	int failed = json_is_false(json_object_get(in, "passed"));   /* older runs have no verdict */
	line_start(c, "Initialisation");
	if (failed)
		sb_puts(&c->verdict, "failed");
	else
		sb_printf(&c->verdict, "lowest validation loss: %s", str_of(json_object_get(in, "best")));
	c->alarm = failed;
	/* the advice compares training losses; the validation losses are the
	 * verdict's numbers */
	sb_puts(&c->numbers, "Validation loss per initialisation:");
	for (size_t i = 0; i < json_array_size(runs); i++) {
		const json_t *run = json_array_get(runs, i);
		sb_printf(&c->numbers, "%s %s %.3f", i ? "," : "", str_of(json_object_get(run, "init")),
			  num_at(fit_of(run), "val_loss"));
	}
	if (own_advice(c, in))
		return;
	sb_printf(&c->numbers, "; constant init leaves %lld distinct hidden unit(s) of %lld",
		  int_at(json_array_get(runs, 0), "distinct_units"), int_at(in, "width"));
	sb_puts(&c->advice, "Use He (ReLU) or Xavier (tanh) initialisation; never a constant (the symmetry never breaks).");
}

/* the fixed-rate runs' names, in words */
static const char *rate_name(const char *name)
{
	return !strcmp(name, "too_low") ? "too low" : !strcmp(name, "too_high") ? "too high" : name;
}

static void line_lr(struct check_line *c, const json_t *lr)
{
	line_start(c, "Learning-rate range test");
	/* the advised rate, where the run has one, is the lower of the range
	 * test's suggestion and a fixed-rate sweep's steadiest rate */
	if (json_is_number(json_object_get(lr, "advised")))
		sb_printf(&c->verdict, "advised %.2g", num_at(lr, "advised"));
	else
		sb_printf(&c->verdict, "suggested %.2g", num_at(lr, "suggested"));
	int own = own_advice(c, lr);
	if (!own)
		sb_printf(&c->numbers, "Smoothed loss lowest at lr %.2g", num_at(lr, "lr_at_min"));
	const json_t *runs = json_object_get(lr, "runs");
	for (size_t i = 0; i < json_array_size(runs); i++) {
		const json_t *run = json_array_get(runs, i);
		sb_printf(&c->numbers, "%s lr %.2g (%s) ends at training loss %.3f",
			  i ? "," : c->numbers.len ? "; fixed rates:" : "Fixed rates:", num_at(run, "lr"),
			  rate_name(str_of(json_object_get(run, "name"))), num_at(fit_of(run), "train_loss"));
	}
	if (!own)
		sb_printf(&c->advice, "Start Adam at about %.2g (the rate at the smoothed minimum / 3).",
			  num_at(lr, "suggested"));
}

static void line_optim(struct check_line *c, const json_t *op)
{
	const json_t *b = json_array_get(json_object_get(op, "runs"), (size_t)int_at(op, "best"));
	line_start(c, "Optimizers and schedules");
	sb_printf(&c->verdict, "lowest validation loss: %s", str_of(json_object_get(op, "best_name")));
	if (own_advice(c, op))
		return;   /* it states the losses, the steps and the confirmation */
	sb_printf(&c->numbers, "Validation loss %.3f; %lld steps to the target training loss %.3f",
		  num_at(fit_of(b), "val_loss"), int_at(b, "steps_to_target"), num_at(op, "target_loss"));
	sb_printf(&c->advice, "Start from %s.", str_of(json_object_get(op, "best_name")));
}

static void line_reg(struct check_line *c, const json_t *rg)
{
	const json_t *runs = json_object_get(rg, "runs");
	line_start(c, "Regularisation");
	sb_printf(&c->verdict, "lowest validation loss: %s", str_of(json_object_get(rg, "best")));
	sb_puts(&c->numbers, "Train/validation loss gap:");
	for (size_t i = 0; i < json_array_size(runs); i++)
		sb_printf(&c->numbers, "%s %s %.3f", i ? "," : "", str_of(json_object_get(json_array_get(runs, i), "name")),
			  num_at(json_array_get(runs, i), "gap"));
	if (!own_advice(c, rg))
		sb_printf(&c->advice, "Regularise with %s (lowest validation loss, MLP 128).",
			  str_of(json_object_get(rg, "best")));
}

static void line_capacity(struct check_line *c, const json_t *ca)
{
	const char *from = json_string_value(json_object_get(ca, "overfit_from"));
	line_start(c, "Capacity and learning curve");
	sb_printf(&c->verdict, "lowest validation loss: %s%s%s", str_of(json_object_get(ca, "best")),
		  from ? "; overfits from " : "", from ? from : "");
	if (own_advice(c, ca))
		return;   /* it states the architectures and the learning curve */
	const json_t *lc = json_object_get(ca, "learning_curve");
	size_t nl = json_array_size(lc);
	if (nl >= 2)
		sb_printf(&c->numbers, "MLP 32 validation accuracy %.1f%% at %lld rows, %.1f%% at %lld",
			  100 * num_at(fit_of(json_array_get(lc, nl - 2)), "val_acc"), int_at(json_array_get(lc, nl - 2), "rows"),
			  100 * num_at(fit_of(json_array_get(lc, nl - 1)), "val_acc"), int_at(json_array_get(lc, nl - 1), "rows"));
	sb_printf(&c->advice, "A model about the size of %s is enough; %s", str_of(json_object_get(ca, "best")),
		  json_is_true(json_object_get(ca, "still_rising")) ? "the learning curve still rises: more data should help."
								  : "the learning curve is flat: more rows of the same kind will not help much.");
}

static void line_health(struct check_line *c, const json_t *he)
{
	int flagged = json_is_true(json_object_get(he, "flagged"));
	line_start(c, "Gradient health");
	sb_puts(&c->verdict, flagged ? "flagged" : "fine");
	c->alarm = flagged;
	if (own_advice(c, he))
		return;   /* it names each flagged layer under the run's own thresholds */
	const json_t *ar = json_object_get(he, "architectures");
	sb_puts(&c->numbers, "Flagged architectures:");
	size_t nflag = 0;
	for (size_t i = 0; i < json_array_size(ar); i++)
		if (json_is_true(json_object_get(json_array_get(ar, i), "flagged")))
			sb_printf(&c->numbers, "%s %s", nflag++ ? "," : "",
				  str_of(json_object_get(json_array_get(ar, i), "architecture")));
	if (!nflag)
		sb_puts(&c->numbers, " none");
	/* the thresholds of the runs that wrote no advice */
	sb_puts(&c->numbers, " (gradient norm / weight norm per layer: vanishing below 1e-5, exploding above 1; dead ReLU above 0.5)");
	sb_puts(&c->advice, flagged ? "Lower the learning rate, use He initialisation, or fewer layers."
				    : "No layer vanished or exploded.");
}

static void line_hpo(struct check_line *c, const json_t *hp)
{
	const json_t *ms = json_object_get(hp, "methods"), *best = NULL;
	for (size_t i = 0; i < json_array_size(ms); i++)
		if (!strcmp(str_of(json_object_get(json_array_get(ms, i), "method")), str_of(json_object_get(hp, "best_method"))))
			best = json_array_get(ms, i);
	line_start(c, "Hyper-parameter search");
	sb_printf(&c->verdict, "best by %s search", str_of(json_object_get(hp, "best_method")));
	sb_printf(&c->numbers, "%lld trials per method; best validation loss:", int_at(hp, "trials_per_method"));
	for (size_t i = 0; i < json_array_size(ms); i++)
		sb_printf(&c->numbers, "%s %s %.3f", i ? "," : "", str_of(json_object_get(json_array_get(ms, i), "method")),
			  -num_at(json_array_get(ms, i), "best_score"));
	if (!own_advice(c, hp))
		sb_printf(&c->advice, "Start a real search from lr %.2g, L2 %.2g, width %lld, dropout %.2f (the trials are "
				      "in probes/hpo.csv).", num_at(best, "lr"), num_at(best, "l2"), int_at(best, "width"),
			  num_at(best, "dropout"));
}

static void line_distill(struct check_line *c, const json_t *di)
{
	int beats = json_is_true(json_object_get(di, "student_beats_teacher"));
	line_start(c, "Distillation");
	sb_puts(&c->verdict, beats ? "the student beats its teacher" : "fine");
	c->alarm = beats;
	if (own_advice(c, di))
		return;   /* it states the agreement, both accuracies and their interval */
	sb_printf(&c->numbers, "Agreement with %s %.1f%%; accuracy student %.3f, teacher %.3f",
		  str_of(json_object_get(di, "teacher")), 100 * num_at(di, "fidelity"), num_at(di, "student_acc"),
		  num_at(di, "teacher_acc"));
	sb_puts(&c->advice, beats ? "The teacher overfits: regularise it or shrink it."
				  : "A model this small keeps most of the teacher's accuracy: a cheaper model may do.");
}

void checks_each(const json_t *sanity, void (*put)(const struct check_line *c, void *arg), void *arg)
{
	static const struct {
		const char *key;
		void (*line)(struct check_line *, const json_t *);
	} order[] = {
		{"overfit_batch", line_overfit}, {"gradient_check", line_gradient}, {"init", line_init},
		{"lr_range", line_lr}, {"optimizers", line_optim}, {"regularisation", line_reg},
		{"capacity", line_capacity}, {"health", line_health}, {"hpo", line_hpo}, {"distill", line_distill},
	};
	struct check_line c;
	sb_init(&c.verdict);
	sb_init(&c.advice);
	sb_init(&c.numbers);
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		const json_t *j = json_object_get(sanity, order[i].key);
		if (!json_is_object(j))
			continue;
		order[i].line(&c, j);
		put(&c, arg);
	}
	sb_free(&c.verdict);
	sb_free(&c.advice);
	sb_free(&c.numbers);
}

const json_t *checks_final(const json_t *sanity)
{
	const json_t *f = json_object_get(json_object_get(sanity, "hpo"), "final");
	return json_is_object(f) && json_is_object(json_object_get(f, "best")) &&
	       json_is_object(json_object_get(f, "default")) ? f : NULL;
}

void checks_setting(struct strbuf *out, const json_t *run)
{
	sb_printf(out, "lr %.2g, L2 %.2g, %lld units, dropout %.2g", num_at(run, "lr"), num_at(run, "l2"),
		  int_at(run, "width"), num_at(run, "dropout"));
}

void checks_stop(struct strbuf *out, const json_t *final, const json_t *run)
{
	if (!strcmp(str_of(json_object_get(run, "stopped_by")), "plateau"))
		sb_puts(out, "training loss stopped improving");
	else
		sb_printf(out, "the cap of %lld epochs", int_at(final, "max_epochs"));
}
