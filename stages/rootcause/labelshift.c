/* labelshift.c - label distribution between train and the later splits.
 * The test and the rule are stated in labelshift.h. */
#include "labelshift.h"
#include "rcstats.h"
#include "../evaluate/stats.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int labelshift_run(const struct rc_data *d, json_t *findings, json_t *analysis)
{
	size_t ns = d->nsplits, k = (size_t)d->k;
	json_t *out = json_array();
	if (ns < 2 || k < 2) {
		json_object_set_new(analysis, "label_shift", out);
		return 0;
	}
	double *cnt = xcalloc(ns * k, sizeof *cnt);
	for (size_t s = 0; s < ns; s++)
		for (size_t i = 0; i < d->splits[s].nrows; i++)
			if (d->splits[s].y[i] >= 0)
				cnt[s * k + (size_t)d->splits[s].y[i]]++;
	double *p = xmalloc(ns * sizeof *p), *q = xmalloc(ns * sizeof *q), *chi = xmalloc(ns * sizeof *chi);
	size_t m = 0;
	for (size_t s = 1; s < ns; s++) {
		double t[2 * 64], dof;
		double *tab = k <= 64 ? t : xmalloc(2 * k * sizeof *tab);
		memcpy(tab, cnt, k * sizeof *tab);
		memcpy(tab + k, cnt + s * k, k * sizeof *tab);
		chi[s] = rcstats_chi2_table(tab, 2, k, &dof, &p[m]);
		if (tab != t)
			free(tab);
		m++;
	}
	stats_bh(p, m, q);
	size_t n0 = d->splits[0].n_labelled;
	for (size_t s = 1; s < ns; s++) {
		const char *split = d->splits[s].name;
		size_t n1 = d->splits[s].n_labelled;
		double ps = p[s - 1], qs = q[s - 1];
		/* the class whose share moved: the positive one, or the one that moved most */
		size_t c = d->positive >= 0 ? (size_t)d->positive : 0;
		if (d->positive < 0 && n0 && n1) {
			double best = -1;
			for (size_t j = 0; j < k; j++) {
				double diff = fabs(cnt[s * k + j] / (double)n1 - cnt[j] / (double)n0);
				if (diff > best) {
					best = diff;
					c = j;
				}
			}
		}
		size_t k0 = (size_t)cnt[c], k1 = (size_t)cnt[s * k + c];
		double r0 = n0 ? (double)k0 / (double)n0 : NAN, r1 = n1 ? (double)k1 / (double)n1 : NAN;
		double lo, hi;
		rcstats_diff_ci(k1, n1, k0, n0, &lo, &hi);
		json_t *e = json_object(), *shares = json_object();
		for (size_t j = 0; j < k; j++) {
			json_t *sj = json_object();
			json_object_set_new(sj, "train", rc_json_num(n0 ? cnt[j] / (double)n0 : NAN));
			json_object_set_new(sj, split, rc_json_num(n1 ? cnt[s * k + j] / (double)n1 : NAN));
			json_object_set_new(shares, d->classes[j], sj);
		}
		json_object_set_new(e, "split", json_string(split));
		json_object_set_new(e, "n_train", json_integer((json_int_t)n0));
		json_object_set_new(e, "n", json_integer((json_int_t)n1));
		json_object_set_new(e, "shares", shares);
		json_object_set_new(e, "chi2", rc_json_num(chi[s]));
		json_object_set_new(e, "p_value", rc_json_num(ps));
		json_object_set_new(e, "q_value", rc_json_num(qs));
		json_object_set_new(e, "class", json_string(d->classes[c]));
		json_object_set_new(e, "shift", estimate_json(r1 - r0, lo, hi, (long long)(n0 + n1), "no labels"));
		json_array_append_new(out, e);
		double shift = r1 - r0;
		if (!(qs < LABELSHIFT_Q) || !(fabs(shift) >= LABELSHIFT_MIN))
			continue;
		char *title = xasprintf("The share of label '%s' moved from %.1f%% in train to %.1f%% in %s "
					"(%+.1f points, 95%% CI %+.1f to %+.1f).",
					d->classes[c], 100 * r0, 100 * r1, split, 100 * shift, 100 * lo, 100 * hi);
		json_t *ev = json_deep_copy(e);
		json_object_set_new(ev, "rule", json_string(
			"chi-square over the classes, BH across the label tests of the run; finding when q < 0.05 and the "
			"shift is at least 5 points; high from 15 points"));
		json_array_append_new(findings, finding_new("label_shift", 3, fabs(shift) >= 0.15 ? SEV_HIGH : SEV_MEDIUM,
			title, subject_new(split, NULL, NULL, NULL, (long long)n1), ev));
		free(title);
	}
	free(cnt);
	free(p);
	free(q);
	free(chi);
	json_object_set_new(analysis, "label_shift", out);
	return 0;
}
