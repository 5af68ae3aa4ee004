/* junit.c - report/junit.xml: the audit as a test suite, so CI dashboards show
 * audits the way they show tests.
 *
 * One test case per finding kind of summary.schema.json (model_kinds): failed
 * when a finding of that kind reaches fail_on, skipped when no analysis in this
 * run checks the kind (its stage did not run, or no stage of this version
 * produces it), passed otherwise. Findings below fail_on are listed in the
 * case's system-out, so a dashboard still shows them. A kind that is not in
 * the table but appears in the findings (a newer stage) gets a case too.
 *
 * The layout is the common JUnit one (testsuites > testsuite > properties,
 * testcase > failure | skipped | system-out) that Jenkins, GitLab and GitHub
 * reporters read. Every data-derived string goes through escape_xml. */
#include "model.h"
#include "escape.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/version.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define JUNIT_MESSAGE_TITLES 1  /* finding titles quoted in a failure's message attribute */

static const char *str_of(const json_t *j)
{
	const char *s = json_string_value(j);
	return s ? s : "";
}

static int stage_ran(const struct report_model *m, const char *stage)
{
	if (!stage)
		return 0;
	char *p = stage_input(m->ctx, stage);
	struct stat st;
	int ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
	free(p);
	return ok;
}

/* "2026-11-27T21:11:38" from a run id "20261127T211138Z[-N]"; 0 when it is
 * not one (then the suite has no timestamp). */
static int run_timestamp(const char *id, char out[20])
{
	static const char shape[] = "DDDDDDDDTDDDDDDZ";
	for (size_t i = 0; i < sizeof shape - 1; i++) {
		char c = id[i];
		if (shape[i] == 'D' ? !(c >= '0' && c <= '9') : c != shape[i])
			return 0;
	}
	snprintf(out, 20, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", id, id + 4, id + 6, id + 9, id + 11, id + 13);
	return 1;
}

/* Does any split have a defined log-loss, i.e. did the model give probabilities? */
static int has_probabilities(const struct report_model *m)
{
	for (size_t i = 0; i < model_nsplits(m); i++)
		if (json_is_number(json_object_get(model_estimate(m, model_split_name(m, i), "log_loss"), "value")))
			return 1;
	return 0;
}

static int has_time_column(const struct report_model *m)
{
	const json_t *cols = json_object_get(m->schema, "columns");
	for (size_t i = 0; i < json_array_size(cols); i++)
		if (!strcmp(str_of(json_object_get(json_array_get(cols, i), "role")), "time"))
			return 1;
	return 0;
}

/* Why a kind whose stage ran was still not checked: the analysis needs data
 * this run lacks. NULL when it was checked. */
static const char *missing_input(const struct report_model *m, const char *kind)
{
	if (!strcmp(kind, "performance_drop") && !model_current_split(m))
		return "not checked: the run has no current data";
	if (!strcmp(kind, "weak_segment") && !json_array_size(json_object_get(m->metrics, "segments")))
		return "not checked: no segment columns are configured";
	if (!strcmp(kind, "time_degradation") && !has_time_column(m))
		return "not checked: no time column is configured";
	if ((!strcmp(kind, "miscalibration") || !strcmp(kind, "confident_errors")) && !has_probabilities(m))
		return "not checked: the model gives no probabilities";
	return NULL;
}

/* Why an analysis the kind depends on was skipped inside a stage that ran
 * (its analysis.json key is absent): the analysis's own reason, borrowed.
 * NULL when the kind has no such analysis or it ran. */
static const char *analysis_skipped(const struct report_model *m, const char *kind)
{
	for (size_t k = 0; k < model_nkinds; k++) {
		if (strcmp(kind, model_kinds[k].kind) || !model_kinds[k].analysis)
			continue;
		const char *why = NULL;
		if (model_analysis(m, model_kinds[k].analysis, &why))
			return NULL;
		return why;
	}
	return NULL;
}

static const char *section_class(int section)
{
	static const char *const names[] = {"probes", "step1", "step2", "step3"};
	return section >= 0 && section <= 3 ? names[section] : "probes";
}

/* One test case for `kind`. `stage` is the stage that checks it (NULL: none).
 * Updates the counters. */
static void junit_case(const struct report_model *m, struct strbuf *cases, const char *kind, int section,
		       const char *stage, int *failures, int *skipped)
{
	size_t nf = json_array_size(m->findings), nall = 0, nfail = 0;
	const json_t *first_fail = NULL;
	for (size_t i = 0; i < nf; i++) {
		const json_t *f = json_array_get(m->findings, i);
		if (strcmp(str_of(json_object_get(f, "kind")), kind))
			continue;
		nall++;
		if (finding_severity(f) >= m->fail_on) {
			nfail++;
			if (!first_fail)
				first_fail = f;
		}
	}

	sb_puts(cases, "    <testcase name=\"");
	escape_xml(cases, kind);
	sb_puts(cases, "\" classname=\"mlaudit.");
	escape_xml(cases, m->name);
	sb_printf(cases, ".%s\"", section_class(section));

	/* a kind with findings was checked whatever the table says */
	const char *missing = nall || !stage_ran(m, stage) ? NULL : missing_input(m, kind);
	const char *skipped_why = nall || !stage_ran(m, stage) || missing ? NULL : analysis_skipped(m, kind);
	if (!nall && (!stage_ran(m, stage) || missing || skipped_why)) {
		sb_puts(cases, ">\n      <skipped message=\"");
		if (missing)
			sb_puts(cases, missing);
		else if (skipped_why) {
			/* the analysis's own sentence: data-derived, so escaped */
			sb_puts(cases, "not checked: ");
			escape_xml(cases, skipped_why);
		}
		else if (!stage)
			sb_printf(cases, "not checked: no analysis in mlaudit %s finds this kind yet", MLA_VERSION);
		else
			sb_printf(cases, "not checked: the %s stage did not run", stage);
		sb_puts(cases, "\"/>\n    </testcase>\n");
		(*skipped)++;
		return;
	}
	if (!nall) {
		sb_puts(cases, "/>\n");
		return;
	}
	sb_puts(cases, ">\n");
	if (nfail) {
		(*failures)++;
		sb_printf(cases, "      <failure type=\"%s\" message=\"%zu finding%s at or above %s: ",
			  severity_name(finding_severity(first_fail)), nfail, nfail == 1 ? "" : "s",
			  severity_name(m->fail_on));
		escape_xml(cases, str_of(json_object_get(first_fail, "title")));
		if (nfail > JUNIT_MESSAGE_TITLES)
			sb_printf(cases, " (and %zu more)", nfail - JUNIT_MESSAGE_TITLES);
		sb_puts(cases, "\">");
	} else
		sb_puts(cases, "      <system-out>");
	/* the body lists every finding of the kind, failing or not */
	for (size_t i = 0, k = 0; i < nf; i++) {
		const json_t *f = json_array_get(m->findings, i);
		if (strcmp(str_of(json_object_get(f, "kind")), kind))
			continue;
		sb_puts(cases, k++ ? "&#10;" : "");
		sb_printf(cases, "%s ", severity_name(finding_severity(f)));
		escape_xml(cases, str_of(json_object_get(f, "id")));
		sb_puts(cases, ": ");
		escape_xml(cases, str_of(json_object_get(f, "title")));
	}
	sb_puts(cases, nfail ? "</failure>\n" : "</system-out>\n");
	sb_puts(cases, "    </testcase>\n");
}

int junit_write(const struct report_model *m)
{
	struct strbuf cases;
	sb_init(&cases);
	int tests = 0, failures = 0, skipped = 0;
	for (size_t k = 0; k < model_nkinds; k++, tests++)
		junit_case(m, &cases, model_kinds[k].kind, model_kinds[k].section, model_kinds[k].stage, &failures,
			   &skipped);
	/* kinds this table does not know, in the order they first appear */
	size_t nf = json_array_size(m->findings);
	for (size_t i = 0; i < nf; i++) {
		const json_t *f = json_array_get(m->findings, i);
		const char *kind = str_of(json_object_get(f, "kind"));
		int seen = 0;
		for (size_t k = 0; k < model_nkinds && !seen; k++)
			seen = !strcmp(kind, model_kinds[k].kind);
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(kind, str_of(json_object_get(json_array_get(m->findings, j), "kind")));
		if (!seen) {
			junit_case(m, &cases, kind, model_finding_section(f), NULL, &failures, &skipped);
			tests++;
		}
	}

	struct strbuf x;
	sb_init(&x);
	sb_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	/* the common schema (Jenkins' junit-10.xsd) has no skipped count on testsuites */
	sb_printf(&x, "<testsuites name=\"mlaudit\" tests=\"%d\" failures=\"%d\" errors=\"0\">\n", tests, failures);
	sb_puts(&x, "  <testsuite name=\"mlaudit.");
	escape_xml(&x, m->name);
	sb_printf(&x, "\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\"", tests, failures, skipped);
	char ts[20];
	if (run_timestamp(m->run_id, ts))
		sb_printf(&x, " timestamp=\"%s\"", ts);
	sb_puts(&x, ">\n    <properties>\n");
	const char *props[][2] = {
		{"run_id", m->run_id}, {"verdict", m->verdict}, {"fail_on", severity_name(m->fail_on)},
		{"metric", m->metric}, {"mode", m->mode}, {"version", MLA_VERSION},
	};
	for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
		sb_printf(&x, "      <property name=\"%s\" value=\"", props[i][0]);
		escape_xml(&x, props[i][1]);
		sb_puts(&x, "\"/>\n");
	}
	sb_puts(&x, "    </properties>\n");
	sb_putn(&x, cases.data, cases.len);
	sb_puts(&x, "  </testsuite>\n</testsuites>\n");
	sb_free(&cases);

	char *path = stage_output(m->ctx, "junit.xml");
	int rc = file_write_atomic(path, x.data, x.len);
	free(path);
	sb_free(&x);
	return rc;
}
