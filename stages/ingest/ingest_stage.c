/* ingest_stage.c - the ingest stage: read every split, check roles and the
 * label, compare schemas between splits, and write the ingest/ artifacts.
 *
 * Errors that make an audit meaningless (a missing label or declared role, a
 * label with one class, a probability outside [0, 1]) stop the run with exit 2.
 * Differences between splits that a real pipeline produces (a feature column
 * gone from current, a column whose type changed) become pipeline_change
 * findings: the audit goes on and says so. */
#include "ingest_stage.h"
#include "frame.h"
#include "ingest.h"
#include "quality.h"
#include "../../pipeline/findings.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bump when a rule or a finding's wording changes, so stored results are not reused. */
#define INGEST_RULES 2

void ingest_params(const struct audit_config *cfg, struct strbuf *out)
{
	sb_printf(out, "rules=%d;", INGEST_RULES);
	const char *strs[] = {cfg->label, cfg->positive, cfg->id, cfg->pred, cfg->proba,
			      cfg->proba_prefix, cfg->time, cfg->weight};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		sb_printf(out, "%s;", strs[i] ? strs[i] : "-");
	const struct strlist *lists[] = {&cfg->segments, &cfg->ignore, &cfg->numeric, &cfg->categorical, &cfg->na};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		for (size_t j = 0; j < lists[i]->n; j++)
			sb_printf(out, "%s,", lists[i]->v[j]);
		sb_putc(out, ';');
	}
	sb_printf(out, "delim=%d;bad=%.6g;test_size=%.6g;seed=%llu;test=%s", cfg->delimiter,
		  cfg->max_bad_numeric, cfg->test_size, (unsigned long long)cfg->seed, cfg->test ? "file" : "holdout");
}

/* ---- the label ---- */

struct classes {
	struct strlist names;    /* sorted */
	int positive;            /* index, binary only; -1 multiclass */
	const char *rule;        /* how the positive class was chosen */
};

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The label values that occur in f (a dictionary may hold levels no row uses
 * after a hold-out split). */
static void collect_label_values(const struct frame *f, struct strlist *seen)
{
	for (size_t j = 0; j < f->ncols; j++) {
		const struct frame_column *col = &f->cols[j];
		if (col->role != ROLE_LABEL)
			continue;
		char *used = xcalloc(col->nlevels + 1, 1);
		for (size_t i = 0; i < f->nrows; i++)
			if (col->code[i] >= 0)
				used[col->code[i]] = 1;
		for (size_t k = 0; k < col->nlevels; k++)
			if (used[k] && !strlist_contains(seen, col->levels[k]))
				strlist_add(seen, col->levels[k]);
		free(used);
	}
}

static int is_positive_word(const char *s)
{
	return !strcasecmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes");
}

static int choose_classes(struct frame **frames, size_t nframes, const struct audit_config *cfg,
			  struct classes *cl)
{
	memset(cl, 0, sizeof *cl);
	collect_label_values(frames[0], &cl->names);
	size_t ntrain = cl->names.n;
	for (size_t i = 1; i < nframes; i++)
		collect_label_values(frames[i], &cl->names);
	if (ntrain < 2)
		return ERR_INPUT("%s: label '%s' has %s in the training data; an audit needs at least two classes",
				 frames[0]->source, cfg->label,
				 ntrain ? "a single class" : "no values");
	qsort(cl->names.v, cl->names.n, sizeof *cl->names.v, cmp_str);
	cl->positive = -1;
	if (cl->names.n != 2) {
		if (cfg->positive)
			return ERR_INPUT("%s: positive = '%s' is for a binary label; '%s' has %zu classes",
					 cfg->config_path ? cfg->config_path : "--positive", cfg->positive, cfg->label,
					 cl->names.n);
		return 0;
	}
	if (cfg->positive) {
		for (int k = 0; k < 2; k++)
			if (!strcmp(cl->names.v[k], cfg->positive))
				cl->positive = k;
		if (cl->positive < 0)
			return ERR_INPUT("%s: config key 'positive' names class '%s', but label '%s' has classes '%s' and '%s'",
					 cfg->config_path ? cfg->config_path : "--positive", cfg->positive, cfg->label,
					 cl->names.v[0], cl->names.v[1]);
		cl->rule = "config key positive";
	} else if (is_positive_word(cl->names.v[0]) != is_positive_word(cl->names.v[1])) {
		cl->positive = is_positive_word(cl->names.v[0]) ? 0 : 1;
		cl->rule = "class named 1/true/yes";
	} else {
		cl->positive = 1;
		cl->rule = "last in sorted order";
	}
	return 0;
}

/* ---- model columns ---- */

/* The audited model's columns must make sense: probabilities in [0, 1], one
 * probability column per class, predictions that are classes. */
static int check_model_columns(const struct frame *f, const struct audit_config *cfg, const struct classes *cl)
{
	for (size_t j = 0; j < f->ncols; j++) {
		const struct frame_column *c = &f->cols[j];
		if (c->role == ROLE_PROBA) {
			for (size_t i = 0; i < f->nrows; i++) {
				double p = c->num[i];
				if (!isnan(p) && !(p >= 0 && p <= 1))
					return ERR_INPUT("%s: column '%s', data row %zu: %g is not a probability in [0, 1]",
							 f->source, c->name, i + 1, p);
			}
		}
		if (c->role == ROLE_PREDICTION) {
			for (size_t k = 0; k < c->nlevels; k++)
				if (!strlist_contains(&cl->names, c->levels[k]))
					return ERR_INPUT("%s: column '%s' (config key 'pred') predicts '%s', which is not a class of label '%s'",
							 f->source, c->name, c->levels[k], cfg->label);
		}
	}
	if (cfg->proba_prefix)
		for (size_t k = 0; k < cl->names.n; k++) {
			char *name = xasprintf("%s%s", cfg->proba_prefix, cl->names.v[k]);
			int found = frame_find(f, name) >= 0;
			free(name);
			if (!found)
				return ERR_INPUT("%s: config key 'proba_prefix' = '%s' needs a column '%s%s' for class '%s'",
						 f->source, cfg->proba_prefix, cfg->proba_prefix, cl->names.v[k], cl->names.v[k]);
		}
	return 0;
}

/* ---- comparing splits ---- */

/* A categorical column whose every level is a number: it was text in one split
 * and numbers in another, which a type inference of the forced-categorical
 * roles (segments) would not show. */
static int levels_all_numeric(const struct frame_column *c)
{
	if (c->type != COL_CATEGORICAL || c->nlevels == 0)
		return 0;
	for (size_t k = 0; k < c->nlevels; k++) {
		double v;
		if (!parse_number(c->levels[k], strlen(c->levels[k]), &v))
			return 0;
	}
	return 1;
}

static const char *shape_name(const struct frame_column *c)
{
	if (c->type == COL_CATEGORICAL && levels_all_numeric(c))
		return "categorical (numbers)";
	return col_type_name(c->type);
}

/* The shape in words for a title: "categorical (numbers)" reads as a
 * contradiction to someone who did not write the code. */
static const char *shape_words(const char *shape)
{
	return !strcmp(shape, "categorical (numbers)") ? "numeric codes"
	       : !strcmp(shape, "categorical")         ? "text categories"
	       : !strcmp(shape, "numeric")             ? "numbers"
	       : !strcmp(shape, "boolean")             ? "true/false values"
						       : shape;
}

static void compare_schemas(struct frame **frames, size_t nframes, json_t *findings, json_t *columns)
{
	const struct frame *train = frames[0];
	for (size_t j = 0; j < train->ncols; j++) {
		const struct frame_column *tc = &train->cols[j];
		json_t *missing_in = json_array();
		for (size_t s = 1; s < nframes; s++) {
			const struct frame *f = frames[s];
			int k = frame_find(f, tc->name);
			if (k < 0) {
				json_array_append_new(missing_in, json_string(f->split));
				char *title = xasprintf("Column '%s' is in train but missing from %s.", tc->name, f->split);
				json_t *ev = json_object();
				json_object_set_new(ev, "change", json_string("column missing"));
				json_object_set_new(ev, "source", json_string(f->source));
				json_object_set_new(ev, "role", json_string(col_role_name(tc->role)));
				json_array_append_new(findings, finding_new("pipeline_change", 2,
					tc->role == ROLE_FEATURE ? SEV_HIGH : SEV_MEDIUM, title,
					subject_new(f->split, tc->name, NULL, NULL, (long long)f->nrows), ev));
				free(title);
				continue;
			}
			const char *was = shape_name(tc), *now = shape_name(&f->cols[k]);
			if (strcmp(was, now) && tc->role != ROLE_ID) {
				char *title = xasprintf("Column '%s' holds %s in %s where train had %s.", tc->name,
							shape_words(now), f->split, shape_words(was));
				json_t *ev = json_object();
				json_object_set_new(ev, "change", json_string("type changed"));
				json_object_set_new(ev, "train_type", json_string(was));
				json_object_set_new(ev, "type", json_string(now));
				json_object_set_new(ev, "source", json_string(f->source));
				json_array_append_new(findings, finding_new("pipeline_change", 2, SEV_HIGH, title,
					subject_new(f->split, tc->name, NULL, NULL, (long long)f->nrows), ev));
				free(title);
			}
		}
		json_t *col = json_object();
		json_object_set_new(col, "name", json_string(tc->name));
		json_object_set_new(col, "type", json_string(col_type_name(tc->type)));
		json_object_set_new(col, "role", json_string(col_role_name(tc->role)));
		json_object_set_new(col, "missing_in", missing_in);
		json_array_append_new(columns, col);
	}
	/* columns that appear only in a later split are new: worth a line, not an alarm */
	for (size_t s = 1; s < nframes; s++)
		for (size_t j = 0; j < frames[s]->ncols; j++)
			if (frame_find(train, frames[s]->cols[j].name) < 0) {
				char *title = xasprintf("Column '%s' appears in %s but not in train.",
							frames[s]->cols[j].name, frames[s]->split);
				json_t *ev = json_object();
				json_object_set_new(ev, "change", json_string("new column"));
				json_array_append_new(findings, finding_new("pipeline_change", 2, SEV_LOW, title,
					subject_new(frames[s]->split, frames[s]->cols[j].name, NULL, NULL, -1), ev));
				free(title);
			}
}

/* Non-numeric cells read as missing in a numeric column are a data-quality
 * signal worth surfacing even below the failure threshold. */
static void bad_numeric_findings(const struct frame *f, json_t *findings)
{
	for (size_t j = 0; j < f->ncols; j++) {
		const struct frame_column *c = &f->cols[j];
		if (!c->n_bad)
			continue;
		char *title = xasprintf("%zu non-numeric cells in numeric column '%s' of %s were read as missing.",
					c->n_bad, c->name, f->split);
		json_t *ev = json_object();
		json_object_set_new(ev, "cells", json_integer((json_int_t)c->n_bad));
		json_object_set_new(ev, "rows", json_integer((json_int_t)f->nrows));
		json_object_set_new(ev, "first_line", json_integer((json_int_t)c->first_bad_line));
		if (c->first_bad_value)
			json_object_set_new(ev, "first_value", json_string(c->first_bad_value));
		json_array_append_new(findings, finding_new("data_quality", 2, SEV_LOW, title,
			subject_new(f->split, c->name, NULL, NULL, (long long)c->n_bad), ev));
		free(title);
	}
}

/* ---- hold-out ---- */

/* A stratified random hold-out of train when no test file is given: each
 * label value keeps its share in both parts. */
static int holdout(struct frame **train, struct frame **test, double share, uint64_t seed)
{
	const struct frame *f = *train;
	int lab = -1;
	for (size_t j = 0; j < f->ncols; j++)
		if (f->cols[j].role == ROLE_LABEL)
			lab = (int)j;
	const struct frame_column *lc = &f->cols[lab];
	size_t n = f->nrows, nlev = lc->nlevels + 1;
	size_t *order = xmalloc(n * sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	struct rng r;
	rng_seed(&r, seed ^ 0x686f6c646f7574ull);
	for (size_t i = n; i > 1; i--) {
		size_t k = (size_t)rng_below(&r, i);
		size_t t = order[i - 1];
		order[i - 1] = order[k];
		order[k] = t;
	}
	/* per class, the first share of its (shuffled) rows go to test */
	size_t *count = xcalloc(nlev, sizeof *count), *taken = xcalloc(nlev, sizeof *taken);
	for (size_t i = 0; i < n; i++)
		count[lc->code[i] + 1]++;
	char *in_test = xcalloc(n, 1);
	for (size_t i = 0; i < n; i++) {
		size_t row = order[i], c = (size_t)(lc->code[row] + 1);
		if (taken[c] < (size_t)(count[c] * share + 0.5)) {
			taken[c]++;
			in_test[row] = 1;
		}
	}
	/* both parts keep file order: row numbers stay meaningful */
	size_t *te = xmalloc(n * sizeof *te), *tr = xmalloc(n * sizeof *tr), nte = 0, ntr = 0;
	for (size_t i = 0; i < n; i++) {
		if (in_test[i])
			te[nte++] = i;
		else
			tr[ntr++] = i;
	}
	free(in_test);
	int rc = 0;
	if (ntr < 2 || nte < 1)
		rc = ERR_INPUT("%s: %zu rows are too few to hold out a test split; give a test file", f->source, n);
	else {
		struct frame *a = frame_take_rows(f, tr, ntr, "train");
		struct frame *b = frame_take_rows(f, te, nte, "test");
		free(b->source);
		b->source = xasprintf("hold-out of %s (%.0f%%, stratified by label, seed %llu)", f->source,
				      share * 100, (unsigned long long)seed);
		frame_free(*train);
		*train = a;
		*test = b;
	}
	free(order); free(count); free(taken); free(te); free(tr);
	return rc;
}

/* ---- the stage ---- */

/* Split names: train, test, and current (one file) or current_<file stem>. */
static char *current_name(const struct audit_config *cfg, size_t i)
{
	if (cfg->current.n == 1)
		return xstrdup("current");
	char *stem = path_stem(cfg->current.v[i]);
	char *name = xasprintf("current_%s", stem);
	free(stem);
	for (size_t k = 0; k < i; k++) {   /* two files with the same stem */
		char *other = path_stem(cfg->current.v[k]);
		int clash = !strcmp(other, name + 8);
		free(other);
		if (clash) {
			free(name);
			return xasprintf("current_%zu", i + 1);
		}
	}
	return name;
}

static void label_findings(struct frame **frames, size_t nframes, const struct classes *cl, json_t *findings)
{
	struct strlist train_classes = {0};
	collect_label_values(frames[0], &train_classes);
	for (size_t s = 0; s < nframes; s++) {
		const struct frame *f = frames[s];
		int lab = -1;
		for (size_t j = 0; j < f->ncols; j++)
			if (f->cols[j].role == ROLE_LABEL)
				lab = (int)j;
		const struct frame_column *lc = &f->cols[lab];
		if (lc->n_missing) {
			char *title = xasprintf("%zu rows of %s have no label and are left out of the evaluation.",
						lc->n_missing, f->split);
			json_t *ev = json_object();
			json_object_set_new(ev, "rows_without_label", json_integer((json_int_t)lc->n_missing));
			json_object_set_new(ev, "rows", json_integer((json_int_t)f->nrows));
			json_array_append_new(findings, finding_new("data_quality", 2,
				lc->n_missing * 20 > f->nrows ? SEV_MEDIUM : SEV_LOW, title,
				subject_new(f->split, lc->name, NULL, NULL, (long long)lc->n_missing), ev));
			free(title);
		}
		if (s == 0)
			continue;
		struct strlist here = {0};
		collect_label_values(f, &here);
		for (size_t k = 0; k < here.n; k++)
			if (!strlist_contains(&train_classes, here.v[k])) {
				char *title = xasprintf("Label class '%s' occurs in %s but never in train.", here.v[k], f->split);
				json_t *ev = json_object();
				json_object_set_new(ev, "class", json_string(here.v[k]));
				json_array_append_new(findings, finding_new("pipeline_change", 2, SEV_HIGH, title,
					subject_new(f->split, lc->name, NULL, NULL, -1), ev));
				free(title);
			}
		strlist_free(&here);
	}
	(void)cl;
	strlist_free(&train_classes);
}

int ingest_stage_run(struct stage_ctx *ctx)
{
	const struct audit_config *cfg = ctx->cfg;
	struct ingest_options opt = {
		.delimiter = cfg->delimiter, .na = &cfg->na, .numeric = &cfg->numeric,
		.categorical = &cfg->categorical, .max_bad_numeric = cfg->max_bad_numeric, .cfg = cfg,
	};
	size_t cap = 2 + cfg->current.n, nframes = 0;
	struct frame **frames = xcalloc(cap, sizeof *frames);
	json_t *findings = json_array(), *columns = json_array();
	struct classes cl = {0};
	int rc = 0;

	/* read: train, test, current... */
	struct { char *name; const char *path; } *splits = xcalloc(cap, sizeof *splits);
	size_t nsplits = 0;
	splits[nsplits].name = xstrdup("train");
	splits[nsplits++].path = cfg->train;
	if (cfg->test) {
		splits[nsplits].name = xstrdup("test");
		splits[nsplits++].path = cfg->test;
	}
	for (size_t i = 0; i < cfg->current.n; i++) {
		splits[nsplits].name = current_name(cfg, i);
		splits[nsplits++].path = cfg->current.v[i];
	}
	for (size_t i = 0; rc == 0 && i < nsplits; i++) {
		struct frame *f = ingest_read(splits[i].path, splits[i].name, &opt);
		if (!f) {
			rc = -1;
			break;
		}
		frames[nframes++] = f;
		rc = ingest_check_roles(f, cfg, 1);
		stage_progress(ctx, 0.8 * (double)(i + 1) / (double)nsplits);
	}
	/* the label check comes before the hold-out, whose error would hide it */
	if (rc == 0)
		rc = choose_classes(frames, nframes, cfg, &cl);
	if (rc == 0 && !cfg->test) {
		/* keep the order train, test, current... */
		memmove(frames + 2, frames + 1, (nframes - 1) * sizeof *frames);
		frames[1] = NULL;
		nframes++;
		rc = holdout(&frames[0], &frames[1], cfg->test_size, cfg->seed);
	}
	for (size_t s = 0; rc == 0 && s < nframes; s++)
		rc = check_model_columns(frames[s], cfg, &cl);

	if (rc == 0) {
		compare_schemas(frames, nframes, findings, columns);
		label_findings(frames, nframes, &cl, findings);
		for (size_t s = 0; s < nframes; s++)
			bad_numeric_findings(frames[s], findings);
	}

	json_t *quality = json_object(), *qsplits = json_object(), *jsplits = json_array();
	json_object_set_new(quality, "splits", qsplits);
	for (size_t s = 0; rc == 0 && s < nframes; s++) {
		struct frame *f = frames[s];
		char *fname = xasprintf("%s.frame", f->split);
		char *path = stage_output(ctx, fname);
		rc = frame_write(f, path);
		free(path);
		json_t *q = quality_profile(f);
		json_object_set_new(qsplits, f->split, q ? q : json_null());
		json_t *js = json_object();
		json_object_set_new(js, "name", json_string(f->split));
		json_object_set_new(js, "source", json_string(f->source));
		json_object_set_new(js, "rows", json_integer((json_int_t)f->nrows));
		json_object_set_new(js, "frame", json_string(fname));
		json_array_append_new(jsplits, js);
		free(fname);
	}

	if (rc == 0) {
		json_t *task = json_object();
		json_object_set_new(task, "type", json_string(cl.names.n == 2 ? "binary" : "multiclass"));
		json_object_set_new(task, "label", json_string(cfg->label));
		json_t *classes = json_array();
		for (size_t k = 0; k < cl.names.n; k++)
			json_array_append_new(classes, json_string(cl.names.v[k]));
		json_object_set_new(task, "classes", classes);
		if (cl.positive >= 0) {
			json_object_set_new(task, "positive", json_string(cl.names.v[cl.positive]));
			json_object_set_new(task, "positive_rule", json_string(cl.rule));
		}
		json_object_set_new(task, "metric", json_string(cfg->metric));
		json_t *model = json_object();
		json_object_set_new(model, "pred", cfg->pred ? json_string(cfg->pred) : json_null());
		json_object_set_new(model, "proba", cfg->proba ? json_string(cfg->proba) : json_null());
		json_object_set_new(model, "proba_prefix", cfg->proba_prefix ? json_string(cfg->proba_prefix) : json_null());
		json_t *schema = json_object();
		json_object_set_new(schema, "task", task);
		json_object_set_new(schema, "mode", json_string(cfg->pred || cfg->proba || cfg->proba_prefix ? "model" : "data"));
		json_object_set_new(schema, "model_columns", model);
		json_object_set_new(schema, "splits", json_incref(jsplits));
		json_object_set_new(schema, "columns", json_incref(columns));
		json_t *fj = json_object();
		json_object_set_new(fj, "findings", json_incref(findings));
		rc = stage_write_json(ctx, "schema.json", schema);
		if (rc == 0)
			rc = stage_write_json(ctx, "quality.json", quality);
		if (rc == 0)
			rc = stage_write_json(ctx, "findings.json", fj);
		json_decref(schema);
		json_decref(fj);
	}
	json_decref(quality);
	json_decref(jsplits);
	json_decref(findings);
	json_decref(columns);
	strlist_free(&cl.names);
	for (size_t s = 0; s < nframes; s++)
		if (frames[s])
			frame_free(frames[s]);
	for (size_t i = 0; i < nsplits; i++)
		free(splits[i].name);
	free(splits);
	free(frames);
	return rc;
}
