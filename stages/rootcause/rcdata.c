/* rcdata.c - loading the splits and the audited model's outputs for the
 * rootcause analyses, and the per-column caches they share. */
#include "rcdata.h"
#include "rcstats.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../../pipeline/util.h"
#include "../probes/probes_stage.h"

/* ---- a string -> id table for unifying categorical levels ---- */

struct strmap {
	size_t cap;          /* power of two */
	size_t n;
	const char **key;
	int32_t *val;
};

static void strmap_init(struct strmap *m, size_t hint)
{
	m->cap = 16;
	while (m->cap < 2 * hint)
		m->cap *= 2;
	m->n = 0;
	m->key = xcalloc(m->cap, sizeof *m->key);
	m->val = xmalloc(m->cap * sizeof *m->val);
}

static void strmap_free(struct strmap *m)
{
	free(m->key);
	free(m->val);
}

static size_t strmap_slot(const struct strmap *m, const char *s)
{
	size_t i = (size_t)hash64_bytes(s, strlen(s)) & (m->cap - 1);
	while (m->key[i] && strcmp(m->key[i], s))
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* The id of s, adding it with id `next` when new; *added says which. */
static int32_t strmap_get_or_add(struct strmap *m, const char *s, int32_t next, int *added)
{
	if (2 * (m->n + 1) > m->cap) {
		struct strmap bigger;
		strmap_init(&bigger, m->cap);
		for (size_t i = 0; i < m->cap; i++)
			if (m->key[i]) {
				size_t j = strmap_slot(&bigger, m->key[i]);
				bigger.key[j] = m->key[i];
				bigger.val[j] = m->val[i];
				bigger.n++;
			}
		strmap_free(m);
		*m = bigger;
	}
	size_t i = strmap_slot(m, s);
	*added = !m->key[i];
	if (*added) {
		m->key[i] = s;
		m->val[i] = next;
		m->n++;
	}
	return m->val[i];
}

/* ---- model outputs ---- */

static int class_of(const struct rc_data *d, const char *name)
{
	for (int k = 0; k < d->k; k++)
		if (!strcmp(d->classes[k], name))
			return k;
	return -1;
}

/* Label, prediction and probabilities of one split, per frame row, read the
 * way the evaluate stage reads them so that "the model erred" means the same
 * rows in both stages. */
static void split_outputs(struct rc_data *d, struct rc_split *sp)
{
	const struct audit_config *cfg = d->cfg;
	struct frame *f = sp->frame;
	size_t n = f->nrows, kk = (size_t)d->k;
	int lab = -1, pred = -1, proba = -1;
	int *pcols = xmalloc(kk * sizeof *pcols);
	for (size_t k = 0; k < kk; k++)
		pcols[k] = -1;
	for (size_t j = 0; j < f->ncols; j++) {
		const struct frame_column *c = &f->cols[j];
		if (c->role == ROLE_LABEL && c->type == COL_CATEGORICAL)
			lab = (int)j;
		else if (c->role == ROLE_PREDICTION && c->type == COL_CATEGORICAL)
			pred = (int)j;
		else if (c->role == ROLE_PROBA && c->num && cfg->proba && !strcmp(c->name, cfg->proba))
			proba = (int)j;
		else if (c->role == ROLE_PROBA && c->num && cfg->proba_prefix) {
			size_t pl = strlen(cfg->proba_prefix);
			if (strlen(c->name) >= pl)
				for (size_t k = 0; k < kk; k++)
					if (!strcmp(c->name + pl, d->classes[k]))
						pcols[k] = (int)j;
		}
	}
	sp->y = xmalloc((n ? n : 1) * sizeof *sp->y);
	if (lab >= 0) {
		const struct frame_column *lc = &f->cols[lab];
		int *map = xmalloc((lc->nlevels + 1) * sizeof *map);
		for (size_t l = 0; l < lc->nlevels; l++)
			map[l] = class_of(d, lc->levels[l]);
		for (size_t i = 0; i < n; i++) {
			int32_t code = lc->code[i];
			sp->y[i] = code < 0 ? -1 : map[code];
			sp->n_labelled += sp->y[i] >= 0;
		}
		free(map);
	} else {
		for (size_t i = 0; i < n; i++)
			sp->y[i] = -1;
	}
	int has_proba = d->has_proba && (proba >= 0 || cfg->proba_prefix);
	if (d->has_proba && cfg->proba_prefix)
		for (size_t k = 0; k < kk; k++)
			has_proba &= pcols[k] >= 0;
	if (!d->model_mode || (pred < 0 && !has_proba)) {
		free(pcols);
		return;
	}
	if (has_proba) {
		sp->proba = xmalloc((n ? n : 1) * kk * sizeof *sp->proba);
		for (size_t i = 0; i < n; i++) {
			double *p = sp->proba + i * kk;
			if (proba >= 0) {
				double pp = f->cols[proba].num[i];
				for (size_t k = 0; k < kk; k++)
					p[k] = NAN;
				if (d->positive >= 0 && kk == 2) {
					p[d->positive] = pp;
					p[1 - d->positive] = 1 - pp;
				}
			} else {
				double sum = 0;
				for (size_t k = 0; k < kk; k++) {
					p[k] = f->cols[pcols[k]].num[i];
					sum += p[k];
				}
				if (sum > 0 && !isnan(sum))
					for (size_t k = 0; k < kk; k++)
						p[k] /= sum;
			}
		}
	}
	int *pmap = NULL;
	if (pred >= 0) {
		const struct frame_column *pc = &f->cols[pred];
		pmap = xmalloc((pc->nlevels + 1) * sizeof *pmap);
		for (size_t l = 0; l < pc->nlevels; l++)
			pmap[l] = class_of(d, pc->levels[l]);
	}
	sp->pred = xmalloc((n ? n : 1) * sizeof *sp->pred);
	sp->err = xmalloc(n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		int pr = -1;
		const double *p = sp->proba ? sp->proba + i * kk : NULL;
		int p_ok = 1;
		if (p)
			for (size_t k = 0; k < kk; k++)
				p_ok &= !isnan(p[k]);
		if (pred >= 0) {
			int32_t code = f->cols[pred].code[i];
			pr = code >= 0 ? pmap[code] : -1;
		} else if (p && p_ok) {
			pr = 0;
			for (int k = 1; k < d->k; k++)
				if (p[k] > p[pr])
					pr = k;
		}
		/* evaluate leaves out rows whose probabilities are missing, even with a prediction */
		if (p && !p_ok)
			pr = -1;
		sp->pred[i] = pr;
		if (pr < 0 || sp->y[i] < 0) {
			sp->err[i] = -1;
			continue;
		}
		sp->err[i] = (int8_t)(pr != sp->y[i]);
		sp->n_eval++;
		sp->n_err += (size_t)sp->err[i];
	}
	free(pmap);
	free(pcols);
}

/* Data mode: the best reference probe of the probes stage stands in for the
 * model, as in the evaluate stage, so "the model erred" means the probe erred.
 * Every split needs the probe's probabilities; otherwise the run stays in data
 * mode without model outputs. */
static int standin_outputs(struct rc_data *d, const char *run_dir)
{
	size_t kk = (size_t)d->k;
	double **p = xcalloc(d->nsplits, sizeof *p);
	int have = 1, rc = 0;
	for (size_t s = 0; have && s < d->nsplits; s++) {
		char *name = NULL;
		int got = probes_standin(run_dir, d->splits[s].name, d->splits[s].nrows, d->k, &p[s], &name);
		free(name);
		if (got < 0)
			rc = -1;
		have = got == 1;
	}
	for (size_t s = 0; have && s < d->nsplits; s++) {
		struct rc_split *sp = &d->splits[s];
		size_t n = sp->nrows;
		sp->proba = p[s];
		p[s] = NULL;
		sp->pred = xmalloc((n ? n : 1) * sizeof *sp->pred);
		sp->err = xmalloc(n ? n : 1);
		for (size_t i = 0; i < n; i++) {
			const double *q = sp->proba + i * kk;
			int pr = 0, ok = 1;
			for (int k = 0; k < d->k; k++) {
				ok &= !isnan(q[k]);
				if (q[k] > q[pr])
					pr = k;
			}
			sp->pred[i] = ok ? pr : -1;
			sp->err[i] = !ok || sp->y[i] < 0 ? -1 : (int8_t)(pr != sp->y[i]);
			if (sp->err[i] >= 0) {
				sp->n_eval++;
				sp->n_err += (size_t)sp->err[i];
			}
		}
	}
	if (have) {
		d->model_mode = 1;
		d->has_proba = 1;
	}
	for (size_t s = 0; s < d->nsplits; s++)
		free(p[s]);
	free(p);
	return rc;
}

/* ---- columns ---- */

static int same_kind(const struct frame_column *a, const struct frame_column *b)
{
	return (a->type == COL_CATEGORICAL) == (b->type == COL_CATEGORICAL);
}

static void column_init(struct rc_data *d, struct rc_column *c, const struct frame_column *tc)
{
	size_t ns = d->nsplits;
	c->name = tc->name;
	c->type = tc->type;
	c->numeric = tc->type != COL_CATEGORICAL;
	c->role = tc->role;
	c->fidx = xmalloc(ns * sizeof *c->fidx);
	for (size_t s = 0; s < ns; s++) {
		int j = frame_find(d->splits[s].frame, tc->name);
		c->fidx[s] = j >= 0 && same_kind(&d->splits[s].frame->cols[j], tc) ? j : -1;
	}
	if (c->numeric) {
		c->sorted = xcalloc(ns, sizeof *c->sorted);
		c->nsorted = xcalloc(ns, sizeof *c->nsorted);
		c->has_sorted = xcalloc(ns, sizeof *c->has_sorted);
		return;
	}
	/* one dictionary across splits, in order of first appearance (train first) */
	struct strmap m;
	strmap_init(&m, tc->nlevels);
	c->lmap = xcalloc(ns, sizeof *c->lmap);
	size_t cap = tc->nlevels + 16;
	c->levels = xmalloc(cap * sizeof *c->levels);
	for (size_t s = 0; s < ns; s++) {
		if (c->fidx[s] < 0)
			continue;
		const struct frame_column *fc = &d->splits[s].frame->cols[c->fidx[s]];
		c->lmap[s] = xmalloc((fc->nlevels + 1) * sizeof **c->lmap);
		for (size_t l = 0; l < fc->nlevels; l++) {
			int added;
			int32_t id = strmap_get_or_add(&m, fc->levels[l], (int32_t)c->nlevels, &added);
			if (added) {
				if (c->nlevels == cap) {
					cap *= 2;
					c->levels = xrealloc(c->levels, cap * sizeof *c->levels);
				}
				c->levels[c->nlevels++] = fc->levels[l];
			}
			c->lmap[s][l] = id;
		}
	}
	strmap_free(&m);
}

static void column_free(const struct rc_data *d, struct rc_column *c)
{
	for (size_t s = 0; s < d->nsplits; s++) {
		if (c->lmap)
			free(c->lmap[s]);
		if (c->sorted)
			free(c->sorted[s]);
	}
	free(c->lmap);
	free(c->levels);
	free(c->sorted);
	free(c->nsorted);
	free(c->has_sorted);
	free(c->fidx);
}

struct rc_data *rcdata_from_frames(const struct audit_config *cfg, struct frame **frames, size_t nframes,
				   const char *const *classes, int k, int positive)
{
	struct rc_data *d = xcalloc(1, sizeof *d);
	d->cfg = cfg;
	d->k = k;
	d->classes = xmalloc((size_t)(k > 0 ? k : 1) * sizeof *d->classes);
	for (int i = 0; i < k; i++)
		d->classes[i] = xstrdup(classes[i]);
	d->positive = positive;
	d->metric = cfg->metric;
	d->has_proba = cfg->proba || cfg->proba_prefix;
	d->model_mode = cfg->pred || d->has_proba;
	d->nsplits = nframes;
	d->splits = xcalloc(nframes ? nframes : 1, sizeof *d->splits);
	d->earlier = json_array();
	for (size_t s = 0; s < nframes; s++) {
		d->splits[s].frame = frames[s];
		d->splits[s].name = frames[s]->split;
		d->splits[s].nrows = frames[s]->nrows;
	}
	free(frames);
	if (nframes == 0) {
		rcdata_free(d);
		ERR_INTERNAL("rootcause: no splits");
		return NULL;
	}
	const struct frame *train = d->splits[0].frame;
	int has_label = 0;
	for (size_t j = 0; j < train->ncols; j++)
		has_label |= train->cols[j].role == ROLE_LABEL;
	if (!has_label) {
		rcdata_free(d);
		ERR_INTERNAL("rootcause: the train frame has no label column");
		return NULL;
	}
	for (size_t s = 0; s < nframes; s++)
		split_outputs(d, &d->splits[s]);
	d->cols = xcalloc(train->ncols ? train->ncols : 1, sizeof *d->cols);
	for (size_t j = 0; j < train->ncols; j++) {
		const struct frame_column *tc = &train->cols[j];
		if (tc->role == ROLE_FEATURE || tc->role == ROLE_SEGMENT)
			column_init(d, &d->cols[d->ncols++], tc);
		else if (tc->role == ROLE_TIME && !d->time) {
			d->time = xcalloc(1, sizeof *d->time);
			column_init(d, d->time, tc);
		}
	}
	return d;
}

void rcdata_free(struct rc_data *d)
{
	if (!d)
		return;
	for (size_t j = 0; j < d->ncols; j++)
		column_free(d, &d->cols[j]);
	if (d->time) {
		column_free(d, d->time);
		free(d->time);
	}
	free(d->cols);
	for (size_t s = 0; s < d->nsplits; s++) {
		struct rc_split *sp = &d->splits[s];
		if (sp->frame)
			frame_free(sp->frame);
		free(sp->y);
		free(sp->pred);
		free(sp->proba);
		free(sp->err);
	}
	free(d->splits);
	for (int i = 0; i < d->k; i++)
		free(d->classes[i]);
	free(d->classes);
	json_decref(d->earlier);
	free(d);
}

static int append_findings(json_t *into, const char *path)
{
	if (!file_exists(path))
		return 0;
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!j)
		return ERR_INTERNAL("%s:%d:%d: %s", path, e.line, e.column, e.text);
	json_array_extend(into, json_object_get(j, "findings"));
	json_decref(j);
	return 0;
}

struct rc_data *rcdata_load(const char *schema_path, const char *ingest_dir, const char *const *findings_paths,
			    const struct audit_config *cfg)
{
	json_error_t e;
	json_t *schema = json_load_file(schema_path, 0, &e);
	if (!schema) {
		ERR_INTERNAL("%s:%d:%d: %s", schema_path, e.line, e.column, e.text);
		return NULL;
	}
	json_t *task = json_object_get(schema, "task"), *cls = json_object_get(task, "classes");
	int k = (int)json_array_size(cls);
	const char **classes = xmalloc((size_t)(k ? k : 1) * sizeof *classes);
	for (int i = 0; i < k; i++)
		classes[i] = json_string_value(json_array_get(cls, (size_t)i));
	const char *pos = json_string_value(json_object_get(task, "positive"));
	int positive = -1;
	for (int i = 0; pos && i < k; i++)
		if (classes[i] && !strcmp(classes[i], pos))
			positive = i;
	json_t *splits = json_object_get(schema, "splits");
	size_t ns = json_array_size(splits);
	struct frame **frames = xcalloc(ns ? ns : 1, sizeof *frames);
	struct rc_data *d = NULL;
	size_t s = 0;
	for (; s < ns; s++) {
		const char *fname = json_string_value(json_object_get(json_array_get(splits, s), "frame"));
		if (!fname) {
			ERR_INTERNAL("%s: split %zu has no frame", schema_path, s);
			break;
		}
		char *path = path_join(ingest_dir, fname);
		frames[s] = frame_read(path);
		free(path);
		if (!frames[s])
			break;
	}
	if (s == ns)
		d = rcdata_from_frames(cfg, frames, ns, classes, k, positive);
	else {
		for (size_t i = 0; i < s; i++)
			frame_free(frames[i]);
		free(frames);
	}
	free(classes);
	json_decref(schema);
	for (const char *const *p = findings_paths; d && p && *p; p++)
		if (append_findings(d->earlier, *p)) {
			rcdata_free(d);
			d = NULL;
		}
	if (d && !d->model_mode) {
		/* the run folder holds ingest/ and probes/ */
		const char *slash = strrchr(ingest_dir, '/');
		char *run_dir = slash ? xstrndup(ingest_dir, (size_t)(slash - ingest_dir)) : xstrdup(".");
		if (slash && !slash[1]) {   /* "RUN/ingest/" */
			free(run_dir);
			run_dir = xstrndup(ingest_dir, (size_t)(slash - ingest_dir));
			char *s2 = strrchr(run_dir, '/');
			if (s2)
				*s2 = 0;
		}
		if (standin_outputs(d, run_dir) != 0) {
			rcdata_free(d);
			d = NULL;
		}
		free(run_dir);
	}
	return d;
}

/* ---- caches and lookups ---- */

const double *rcdata_sorted(struct rc_data *d, size_t col, size_t s, size_t *n)
{
	struct rc_column *c = &d->cols[col];
	*n = 0;
	if (!c->numeric || c->fidx[s] < 0)
		return NULL;
	if (!c->has_sorted[s]) {
		const double *x = d->splits[s].frame->cols[c->fidx[s]].num;
		size_t rows = d->splits[s].nrows, m = 0;
		double *v = xmalloc((rows ? rows : 1) * sizeof *v);
		for (size_t i = 0; i < rows; i++)
			if (!isnan(x[i]))
				v[m++] = x[i];
		rcstats_sort_doubles(v, m);
		c->sorted[s] = v;
		c->nsorted[s] = m;
		c->has_sorted[s] = 1;
	}
	*n = c->nsorted[s];
	return c->sorted[s];
}

void rcdata_release_sorted(struct rc_data *d, size_t col)
{
	struct rc_column *c = &d->cols[col];
	if (!c->numeric)
		return;
	for (size_t s = 0; s < d->nsplits; s++) {
		free(c->sorted[s]);
		c->sorted[s] = NULL;
		c->nsorted[s] = 0;
		c->has_sorted[s] = 0;
	}
}

void rcdata_release_split(struct rc_data *d, size_t s)
{
	for (size_t j = 0; j < d->ncols; j++) {
		struct rc_column *c = &d->cols[j];
		if (!c->numeric)
			continue;
		free(c->sorted[s]);
		c->sorted[s] = NULL;
		c->nsorted[s] = 0;
		c->has_sorted[s] = 0;
	}
}

static int subject_is(const json_t *f, const char *key, const char *value)
{
	const char *v = json_string_value(json_object_get(json_object_get(f, "subject"), key));
	return v && value && !strcmp(v, value);
}

int rcdata_earlier_change(const struct rc_data *d, const char *split, const char *column)
{
	size_t i;
	json_t *f;
	json_array_foreach(d->earlier, i, f) {
		const char *kind = json_string_value(json_object_get(f, "kind"));
		if (kind && !strcmp(kind, "pipeline_change") && subject_is(f, "split", split) &&
		    subject_is(f, "feature", column))
			return 1;
	}
	return 0;
}

int rcdata_earlier_kind(const struct rc_data *d, const char *kind, const char *split)
{
	size_t i;
	json_t *f;
	json_array_foreach(d->earlier, i, f) {
		const char *k = json_string_value(json_object_get(f, "kind"));
		if (k && !strcmp(k, kind) && (!split || subject_is(f, "split", split)))
			return 1;
	}
	return 0;
}

/* ---- CSV ---- */

void rc_csv_str(struct strbuf *sb, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		sb_puts(sb, s);
		return;
	}
	sb_putc(sb, '"');
	for (; *s; s++) {
		if (*s == '"')
			sb_putc(sb, '"');
		sb_putc(sb, *s);
	}
	sb_putc(sb, '"');
}

void rc_csv_num(struct strbuf *sb, double v)
{
	if (isfinite(v))
		sb_printf(sb, "%.10g", v);
}

const char *rc_fmt(char *buf, size_t size, double v)
{
	double a = fabs(v);
	if (!isfinite(v) || a < 1e4 || a >= 1e15) {
		snprintf(buf, size, "%.4g", v);
		return buf;
	}
	/* 4 significant digits, then commas between thousands */
	double mag = pow(10.0, floor(log10(a)) - 3);
	long long r = llround(round(a / mag) * mag);
	char digits[32];
	snprintf(digits, sizeof digits, "%lld", r);
	size_t n = strlen(digits), k = 0;
	if (v < 0 && k + 1 < size)
		buf[k++] = '-';
	for (size_t i = 0; i < n && k + 2 < size; i++) {
		if (i && (n - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = digits[i];
	}
	buf[k] = 0;
	return buf;
}
