/* findings.c - findings and estimates as JSON objects. */
#include "findings.h"
#include "util.h"

#include <math.h>
#include <string.h>

static void hash_field(struct hash64 *h, const json_t *subject, const char *key)
{
	const char *v = json_string_value(json_object_get(subject, key));
	hash64_update(h, key, strlen(key) + 1);
	if (v)
		hash64_update(h, v, strlen(v) + 1);
}

json_t *subject_new(const char *split, const char *feature, const char *segment,
		    const char *slice, long long rows)
{
	json_t *s = json_object();
	if (split)
		json_object_set_new(s, "split", json_string(split));
	if (feature)
		json_object_set_new(s, "feature", json_string(feature));
	if (segment)
		json_object_set_new(s, "segment", json_string(segment));
	if (slice)
		json_object_set_new(s, "slice", json_string(slice));
	if (rows >= 0)
		json_object_set_new(s, "rows", json_integer(rows));
	return s;
}

json_t *finding_new(const char *kind, int step, enum severity sev, const char *title,
		    json_t *subject, json_t *evidence)
{
	if (!subject)
		subject = json_object();
	if (!evidence)
		evidence = json_object();
	/* The id hashes kind and the subject's names (not its row count, which
	 * changes every night), so `diff` and the history page can match a finding
	 * across runs. */
	struct hash64 h;
	hash64_init(&h);
	hash64_update(&h, kind, strlen(kind) + 1);
	hash_field(&h, subject, "split");
	hash_field(&h, subject, "feature");
	hash_field(&h, subject, "segment");
	hash_field(&h, subject, "slice");
	char id[32];
	snprintf(id, sizeof id, "F-%08llx", (unsigned long long)(hash64_final(&h) & 0xffffffffull));

	json_t *f = json_object();
	json_object_set_new(f, "id", json_string(id));
	json_object_set_new(f, "step", step ? json_integer(step) : json_string("probes"));
	json_object_set_new(f, "kind", json_string(kind));
	json_object_set_new(f, "severity", json_string(severity_name(sev)));
	json_object_set_new(f, "title", json_string(title));
	json_object_set_new(f, "subject", subject);
	json_object_set_new(f, "evidence", evidence);
	json_object_set_new(f, "mitigations", json_array());
	return f;
}

enum severity finding_severity(const json_t *finding)
{
	const char *s = json_string_value(json_object_get(finding, "severity"));
	int v = s ? severity_parse(s) : -1;
	return v < 0 ? SEV_INFO : (enum severity)v;
}

json_t *json_num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *estimate_json(double value, double lo, double hi, long long n, const char *reason)
{
	json_t *e = json_object();
	json_object_set_new(e, "value", json_num_or_null(value));
	json_object_set_new(e, "ci_low", isfinite(value) ? json_num_or_null(lo) : json_null());
	json_object_set_new(e, "ci_high", isfinite(value) ? json_num_or_null(hi) : json_null());
	json_object_set_new(e, "n", json_integer(n));
	if (!isfinite(value))
		json_object_set_new(e, "reason", json_string(reason ? reason : "undefined"));
	return e;
}

/* Causes before symptoms at equal severity: step 3 (root causes) with the
 * pipeline bugs and data-quality faults that step 2 reports (the seed counts
 * pipeline bugs among the causes), then the rest of step 2 (where it fails),
 * the probes' checks, then step 1 (how it performs). A reader of the top
 * findings wants what to fix first; the symptoms keep their own sections. */
static int step_rank(const json_t *f)
{
	const json_t *s = json_object_get(f, "step");
	const char *kind = json_string_value(json_object_get(f, "kind"));
	int step = json_is_integer(s) ? (int)json_integer_value(s) : 0;
	if (step == 3 || (kind && (!strcmp(kind, "pipeline_change") || !strcmp(kind, "data_quality"))))
		return 0;
	return step == 2 ? 1 : step == 1 ? 3 : 2;
}

static int finding_cmp(const void *a, const void *b)
{
	const json_t *fa = *(json_t *const *)a, *fb = *(json_t *const *)b;
	int sa = finding_severity(fa), sb = finding_severity(fb);
	if (sa != sb)
		return sb - sa;
	int ra = step_rank(fa), rb = step_rank(fb);
	if (ra != rb)
		return ra - rb;
	const char *ia = json_string_value(json_object_get(fa, "id"));
	const char *ib = json_string_value(json_object_get(fb, "id"));
	return strcmp(ia ? ia : "", ib ? ib : "");
}

void findings_sort(json_t *findings)
{
	size_t n = json_array_size(findings);
	if (n < 2)
		return;
	json_t **v = xmalloc(n * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(findings, i));
	qsort(v, n, sizeof *v, finding_cmp);
	json_array_clear(findings);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(findings, v[i]);
	free(v);
}
