/* test_report.c - the report stage on a hand-written run folder whose data
 * carries hostile strings: a category `<script>alert(1)</script>`, a category
 * `=HYPERLINK("http://x","y")`, and a column name with a quote, a backquote and
 * a newline. Plus the escaping and template units. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "pipeline/config.h"
#include "pipeline/stage.h"
#include "pipeline/util.h"
#include "stages/report/escape.h"
#include "stages/report/model.h"
#include "stages/report/png.h"
#include "stages/report/report.h"
#include "stages/report/template.h"

/* The hostile strings, as C text and as JSON string bodies. */
#define SCRIPT "<script>alert(1)</script>"
#define HYPER "=HYPERLINK(\"http://x\",\"y\")"
#define HYPER_J "=HYPERLINK(\\\"http://x\\\",\\\"y\\\")"
#define WEIRD "q\"b`c\nd"
#define WEIRD_J "q\\\"b`c\\nd"

/* ---- the run folder ---- */

static const char run_json[] =
	"{\"tool\": \"mlaudit\", \"version\": \"0.1.0\", \"run_id\": \"20261127T020000Z\","
	" \"started\": \"2026-11-27T02:00:00Z\", \"status\": \"running\", \"backend\": \"cpu\","
	" \"config\": {\"name\": \"credit\", \"label\": \"Status\", \"metric\": \"f1\", \"fail_on\": \"high\","
	"   \"segments\": [\"region\", \"" WEIRD_J "\"]},"
	" \"stages\": [{\"name\": \"ingest\", \"status\": \"ran\", \"seconds\": 0.42},"
	"              {\"name\": \"evaluate\", \"status\": \"ran\", \"seconds\": 1.1}]}";

static const char schema_json[] =
	"{\"task\": {\"type\": \"binary\", \"label\": \"Status\", \"classes\": [\"bad\", \"good\"],"
	"   \"positive\": \"bad\", \"positive_rule\": \"config key positive\"},"
	" \"mode\": \"model\", \"model_columns\": {\"pred\": \"pred\", \"proba\": \"proba\", \"proba_prefix\": null},"
	" \"splits\": [{\"name\": \"train\", \"rows\": 4000}, {\"name\": \"test\", \"rows\": 1000},"
	"              {\"name\": \"current\", \"rows\": 900}],"
	" \"columns\": [{\"name\": \"x1\", \"type\": \"numeric\", \"role\": \"feature\"},"
	"   {\"name\": \"region\", \"type\": \"categorical\", \"role\": \"segment\"},"
	"   {\"name\": \"" WEIRD_J "\", \"type\": \"categorical\", \"role\": \"segment\"}]}";

#define QUALITY_SPLIT(rows, miss) \
	"{\"rows\": " rows ", \"duplicate_rows\": 3, \"constant_columns\": [],"                        \
	" \"columns\": [{\"name\": \"x1\", \"type\": \"numeric\", \"role\": \"feature\", \"missing\": 4,"  \
	"   \"missing_rate\": " miss ", \"distinct\": 812, \"bad_numeric\": 1, \"min\": 0.5, \"max\": 98.25," \
	"   \"mean\": 41.5, \"std\": 12.25},"                                                             \
	"  {\"name\": \"region\", \"type\": \"categorical\", \"role\": \"segment\", \"missing\": 1,"     \
	"   \"missing_rate\": 0.001, \"distinct\": 3,"                                                    \
	"   \"top\": [{\"value\": \"west\", \"count\": 700}, {\"value\": \"" SCRIPT "\", \"count\": 200}]}," \
	"  {\"name\": \"" WEIRD_J "\", \"type\": \"categorical\", \"role\": \"segment\", \"missing\": 1,"  \
	"   \"missing_rate\": 0.002, \"distinct\": 2,"                                                    \
	"   \"top\": [{\"value\": \"" HYPER_J "\", \"count\": 300}]}]}"

static const char quality_json[] =
	"{\"splits\": {\"train\": " QUALITY_SPLIT("4000", "0.01") ", \"test\": " QUALITY_SPLIT("1000", "0.02")
	", \"current\": " QUALITY_SPLIT("900", "0.15") "}}";

#define EST(v, lo, hi, n) "{\"value\": " v ", \"ci_low\": " lo ", \"ci_high\": " hi ", \"n\": " n "}"
#define EST_NULL(n, why) "{\"value\": null, \"ci_low\": null, \"ci_high\": null, \"n\": " n ", \"reason\": \"" why "\"}"

#define SPLIT_METRICS(rows, acc, f1, precision)                                                          \
	"{\"rows\": " rows ", \"metrics\": {\"accuracy\": " acc ", \"precision\": " precision ","           \
	" \"recall\": " EST("0.71", "0.66", "0.76", "300") ", \"f1\": " f1 ","                               \
	" \"roc_auc\": " EST("0.881", "0.86", "0.902", "1000") ", \"log_loss\": " EST("0.412", "0.39", "0.434", "1000") "}," \
	" \"per_class\": [{\"class\": \"bad\", \"support\": 300, \"precision\": " precision ","             \
	"   \"recall\": " EST("0.71", "0.66", "0.76", "300") ", \"f1\": " f1 "},"                            \
	"  {\"class\": \"good\", \"support\": 700, \"precision\": " EST("0.87", "0.84", "0.9", "700") ","    \
	"   \"recall\": " EST("0.91", "0.89", "0.93", "700") ", \"f1\": " EST("0.89", "0.87", "0.91", "700") "}]," \
	" \"confusion\": {\"classes\": [\"bad\", \"good\"], \"matrix\": [[213, 87], [63, 637]]},"         \
	" \"reliability\": [{\"lo\": 0.5, \"hi\": 0.6, \"n\": 120, \"confidence\": 0.55, \"accuracy\": 0.52}," \
	"   {\"lo\": 0.6, \"hi\": 0.7, \"n\": 0, \"confidence\": null, \"accuracy\": null},"             \
	"   {\"lo\": 0.7, \"hi\": 0.8, \"n\": 300, \"confidence\": 0.75, \"accuracy\": 0.71},"            \
	"   {\"lo\": 0.9, \"hi\": 1.0, \"n\": 500, \"confidence\": 0.95, \"accuracy\": 0.93}],"           \
	" \"confident_errors\": [{\"row\": 17, \"id\": \"" SCRIPT "\", \"true\": \"bad\", \"predicted\": \"good\", \"confidence\": 0.991}]}"

#define SEGMENT(split, col, val, rows, f1, weak)                                                         \
	"{\"split\": \"" split "\", \"column\": \"" col "\", \"value\": \"" val "\", \"rows\": " rows ","   \
	" \"metrics\": {\"f1\": " f1 ", \"accuracy\": " EST("0.8", "0.75", "0.85", rows) "},"              \
	" \"rest\": {\"f1\": " EST("0.8", "0.77", "0.83", "800") "}, \"p_value\": 0.0001, \"q_value\": 0.0004," \
	" \"weak\": " weak "}"

static const char metrics_json[] =
	"{\"metric\": \"f1\", \"mode\": \"model\", \"split_order\": [\"train\", \"test\", \"current\"],"
	" \"splits\": {"
	"  \"train\": " SPLIT_METRICS("4000", EST("0.874", "0.864", "0.884", "4000"), EST("0.846", "0.84", "0.852", "1200"),
				      EST("0.79", "0.76", "0.82", "1100")) ","
	"  \"test\": " SPLIT_METRICS("1000", EST("0.842", "0.82", "0.864", "1000"), EST("0.801", "0.787", "0.815", "300"),
				     EST("0.78", "0.73", "0.83", "276")) ","
	"  \"current\": " SPLIT_METRICS("900", EST("0.781", "0.753", "0.809", "900"), EST("0.712", "0.701", "0.723", "280"),
					EST_NULL("0", "no predicted positives")) "},"
	" \"segments\": ["
	   SEGMENT("test", "region", "west", "240", EST("0.61", "0.55", "0.67", "240"), "true") ","
	   SEGMENT("test", "region", SCRIPT, "200", EST("0.82", "0.77", "0.87", "200"), "false") ","
	   SEGMENT("test", WEIRD_J, HYPER_J, "300", EST("0.79", "0.74", "0.84", "300"), "false") ","
	   SEGMENT("current", "region", "west", "220", EST("0.55", "0.49", "0.61", "220"), "true") ","
	   SEGMENT("current", WEIRD_J, HYPER_J, "280", EST("0.7", "0.64", "0.76", "280"), "false") "],"
	" \"threshold\": {\"split\": \"test\", \"chosen_on\": \"train\", \"metric\": \"f1\", \"at\": 0.5,"
	"   \"best\": 0.31, \"value_at\": 0.801, \"value_best\": 0.823}}";

#define FINDING(id, step, kind, sev, title, subject, evidence)                                          \
	"{\"id\": \"" id "\", \"step\": " step ", \"kind\": \"" kind "\", \"severity\": \"" sev "\","     \
	" \"title\": \"" title "\", \"subject\": " subject ", \"evidence\": " evidence ", \"mitigations\": []}"

static const char ingest_findings[] =
	"{\"findings\": [" FINDING("F-00000001", "2", "data_quality", "low",
		"Column " WEIRD_J " has 15% missing values in current against 1% in train.",
		"{\"split\": \"current\", \"feature\": \"" WEIRD_J "\"}",
		"{\"missing_rate\": 0.15, \"missing_rate_train\": 0.01, \"max_missing_rate\": 0.05}") "]}";

static const char evaluate_findings[] =
	"{\"findings\": ["
	FINDING("F-00000002", "1", "confident_errors", "info", "1 confident error in test.",
		"{\"split\": \"test\", \"rows\": 1}", "{\"wrong\": 1, \"threshold\": 0.95}") ","
	FINDING("F-00000003", "1", "weak_segment", "medium",
		"Segment region=" SCRIPT " scores 0.61 F1 against 0.80 for the rest of test.",
		"{\"split\": \"test\", \"segment\": \"region=west\", \"rows\": 240}",
		"{\"metric\": \"f1\", \"segment\": " EST("0.61", "0.55", "0.67", "240") ", \"gap\": 0.19,"
		" \"q_value\": 0.0004, \"min_gap\": 0.02}") ","
	FINDING("F-00000004", "1", "misaligned_metric", "low",
		"A decision threshold of 0.310 instead of 0.5 raises f1 on test from 0.801 to 0.823.",
		"{\"split\": \"test\", \"slice\": \"decision threshold\"}", "{\"at\": 0.5, \"best\": 0.31}") "]}";

static const char evaluate_findings_info_only[] =
	"{\"findings\": [" FINDING("F-00000002", "1", "confident_errors", "info", "1 confident error in test.",
				   "{\"split\": \"test\", \"rows\": 1}", "{\"wrong\": 1}") "]}";

/* The mitigate stage's order is the order of "Do first": M-0 (for a low
 * finding) before M-1 (for a medium one), and M-9 (for an info finding only)
 * never. */
static const char mitigations_json[] =
	"{\"mitigations\": [{\"id\": \"M-0\", \"action\": \"change_metric_or_threshold\","
	" \"text\": \"Move the threshold to 0.31.\", \"addresses\": [\"F-00000004\"]},"
	" {\"id\": \"M-9\", \"action\": \"tune_training\", \"text\": \"Only for information.\","
	" \"addresses\": [\"F-00000002\"]},"
	" {\"id\": \"M-1\", \"action\": \"collect_data\","
	" \"text\": \"Collect about 500 more rows with region=west.\", \"addresses\": [\"F-00000003\"],"
	" \"measured_effect\": {\"metric\": \"f1\", \"before\": " EST("0.61", "0.55", "0.67", "240") ","
	"   \"after\": " EST("0.68", "0.62", "0.74", "240") "}}]}";

static const char mitigate_findings[] =
	"{\"findings\": [" FINDING("F-00000005", "3", "underrepresented_slice", "medium",
		"region=west is 6% of train and 24% of current.", "{\"segment\": \"region=west\"}",
		"{\"share_train\": 0.06}") "]}";

/* ---- root-cause analyses (rootcause/analysis.json, drift.csv) and the
 * training checks (probes/sanity.json, hpo.csv) ----
 * HOST is a feature name that is hostile to every output at once: HTML, a
 * markdown table pipe, a spreadsheet formula, a quote for gnuplot and a
 * newline for any line-based format. */
#define HOST "<script>|=cmd\"q\nz"
#define HOST_J "<script>|=cmd\\\"q\\nz"
#define HOST_CSV "\"<script>|=cmd\"\"q\nz\""
#define HOST_HTML "&lt;script&gt;|=cmd&quot;q z"
#define HOST_GP "<script>|=cmd'q z"

#define RC_SPLITS                                                                                            \
	"\"splits\": [{\"name\": \"train\", \"rows\": 4000, \"evaluated\": 4000, \"errors\": 600},"      \
	" {\"name\": \"test\", \"rows\": 1000, \"evaluated\": 1000, \"errors\": 158},"                     \
	" {\"name\": \"current\", \"rows\": 900, \"evaluated\": 900, \"errors\": 197}]"

#define TREE_NODE(id, parent, depth, cond, rows, errors, rate, leaf)                                        \
	"{\"id\": " id ", \"parent\": " parent ", \"depth\": " depth ", \"condition\": \"" cond "\","       \
	" \"rows\": " rows ", \"errors\": " errors ", \"error_rate\": " rate ", \"leaf\": " leaf "}"

static const char rc_analysis_json[] =
	"{" RC_SPLITS ","
	" \"slices\": {\"method\": \"m\", \"tests\": 120, \"listed\": [{\"rank\": 1, \"split\": \"current\","
	"   \"slice\": \"" HOST_J " = a\", \"method\": \"conjunction search\", \"conditions\": 1, \"rows\": 90,"
	"   \"support\": 0.1, \"errors\": 40, \"error_rate\": " EST("0.444", "0.344", "0.548", "90") ","
	"   \"rest_error_rate\": " EST("0.194", "0.168", "0.223", "810") ", \"ratio\": 2.29, \"share_of_errors\": 0.203,"
	"   \"p_value\": 1e-06, \"q_value\": 0.0001, \"finding\": \"F-00000009\"}],"
	"  \"trees\": {\"test\": [" TREE_NODE("0", "null", "0", "all rows", "1000", "158", "0.158", "false") ","
	     TREE_NODE("1", "0", "1", HOST_J " < 3", "400", "100", "0.25", "true") ","
	     TREE_NODE("2", "0", "1", HOST_J " >= 3", "600", "58", "0.0967", "true") "],"
	"   \"current\": [" TREE_NODE("0", "null", "0", "all rows", "900", "197", "0.219", "false") ","
	     TREE_NODE("1", "0", "1", HOST_J " < 3", "300", "120", "0.4", "false") ","
	     TREE_NODE("3", "1", "2", "x1 < 0", "100", "70", "0.7", "true") ","
	     TREE_NODE("4", "1", "2", "x1 >= 0", "200", "50", "0.25", "true") ","
	     TREE_NODE("2", "0", "1", HOST_J " >= 3", "600", "77", "0.128", "true") "]}},"
	" \"drift\": {\"tests\": 4, \"columns\": [], \"skipped\": [{\"split\": \"current\", \"feature\": \"region\","
	"   \"reason\": \"ingest reported the column missing or retyped in this split\"}]},"
	" \"domain\": [{\"split\": \"current\", \"against\": \"train\", \"rows\": [4000, 900],"
	"   \"auc\": " EST("0.91", "0.89", "0.93", "4900") ","
	"   \"drivers\": [{\"feature\": \"" HOST_J "\", \"auc_drop\": " EST("0.3", "0.28", "0.32", "4900") "}],"
	"   \"covariate\": {\"source\": \"test\", \"metric\": \"accuracy\", \"source_value\": " EST("0.842", "0.82", "0.864", "1000") ","
	"     \"iw_estimate\": " EST("0.8", "0.77", "0.83", "1000") ", \"observed\": " EST("0.781", "0.753", "0.809", "900") ","
	"     \"explained\": " EST("0.042", "0.02", "0.064", "1000") ", \"unexplained\": " EST("0.019", "-0.01", "0.048", "900") ","
	"     \"ess\": 310.5},"
	"   \"disagreement\": {\"train_probe_vs_current_probe\": " EST("0.08", "0.06", "0.1", "900") ","
	"     \"baseline\": " EST("0.07", "0.05", "0.09", "900") "}}],"
	" \"importance\": {\"surrogate\": {\"architecture\": \"MLP 32\", \"rows\": 2000,"
	"   \"fidelity\": {\"train\": " EST("0.95", "0.94", "0.96", "2000") ", \"current\": " EST("0.71", "0.68", "0.74", "900") "}},"
	"   \"splits\": [\"train\", \"current\"], \"metric\": \"accuracy drop when the feature is permuted\","
	"   \"features\": [{\"feature\": \"x1\", \"by_split\": {\"train\": {\"importance\": " EST("0.05", "0.04", "0.06", "2000") ", \"rank\": 2},"
	"       \"current\": {\"importance\": " EST("0.01", "0", "0.02", "900") ", \"rank\": 2}}},"
	"     {\"feature\": \"" HOST_J "\", \"by_split\": {\"train\": {\"importance\": " EST("0.12", "0.1", "0.14", "2000") ", \"rank\": 1},"
	"       \"current\": {\"importance\": " EST("0.2", "0.17", "0.23", "900") ", \"rank\": 1}}}]},"
	" \"points\": {\"split\": \"current\", \"rows\": [{\"row\": 5, \"id\": \"" HOST_J "\", \"label\": \"bad\","
	"   \"predicted\": \"good\", \"confidence\": 0.991,"
	"   \"attribution\": [{\"feature\": \"" HOST_J "\", \"value\": \"=cmd|1\", \"contribution\": 0.21}],"
	"   \"neighbours\": [{\"row\": 1, \"id\": null, \"label\": \"good\", \"distance\": 0.5}],"
	"   \"neighbourhood\": {\"k\": 50, \"model_accuracy\": " EST("0.6", "0.46", "0.72", "50") ", \"same_label_share\": 0.3}}]},"
	" \"underrepresented\": [{\"slice\": \"" HOST_J "\", \"eval_split\": \"current\", \"share_train\": 0.02,"
	"   \"share_eval\": 0.1, \"rows_train\": 80, \"error_rate\": " EST("0.4", "0.3", "0.5", "90") ","
	"   \"error_rate_elsewhere\": " EST("0.2", "0.17", "0.23", "810") ","
	"   \"curve\": [{\"train_rows\": 20, \"accuracy\": " EST("0.55", "0.45", "0.65", "90") "},"
	"     {\"train_rows\": 40, \"accuracy\": " EST("0.6", "0.5", "0.7", "90") "},"
	"     {\"train_rows\": 80, \"accuracy\": " EST("0.66", "0.56", "0.75", "90") "}],"
	"   \"rows_needed\": 500, \"finding\": null}]}";

static const char rc_drift_csv[] =
	"split,feature,type,test,statistic,p,q,wasserstein_sd,psi,js,flagged\n"
	"test,x1,numeric,ks,0.02,0.5,0.6,0.03,0.01,,0\n"
	"test," HOST_CSV ",numeric,ks,0.03,0.4,0.6,0.04,0.02,,0\n"
	"current,x1,numeric,ks,0.04,0.3,0.6,0.05,0.03,,0\n"
	"current," HOST_CSV ",numeric,ks,0.9,0,0,12.5,7.5,,1\n";

/* only a skipped domain analysis and an empty slice search: every other
 * section must say that its analysis did not run */
static const char rc_skipped_json[] =
	"{" RC_SPLITS ", \"domain_skipped\": \"fewer than 100 rows on a side\","
	" \"slices\": {\"tests\": 0, \"listed\": [], \"trees\": {}}}";

static const char rc_mitigations_json[] =
	"{\"mitigations\": [{\"id\": \"M-1\", \"action\": \"fix_pipeline\","
	" \"text\": \"Fix the feed of one column.\", \"addresses\": [\"F-00000003\"],"
	" \"measured_effect\": {\"metric\": \"accuracy\", \"split\": \"current\","
	"   \"before\": " EST("0.781", "0.753", "0.809", "900") ", \"after\": " EST("0.83", "0.805", "0.855", "900") ","
	"   \"delta\": " EST("0.049", "0.03", "0.068", "900") ", \"probe\": \"mlp-32\","
	"   \"how\": \"" HOST_J " rescaled before scoring\"}}]}";

/* a learning-rate range test whose loss diverges (to 1e5, then NaN) */
static const char rc_sanity_json[] =
	"{\"level\": \"quick\", \"rows\": 1000, \"train_rows\": 4000, \"subsampled\": true, \"batch\": 32,"
	" \"gradient_check\": {\"max_rel_err\": 1e-09, \"tolerance\": 1e-06, \"passed\": true},"
	" \"lr_range\": {\"lr\": [1e-05, 3e-05, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3],"
	"   \"loss\": [0.7, 0.69, 0.6, 0.5, 0.45, 0.5, 0.9, 5, 100000, null],"
	"   \"smooth\": [0.7, 0.69, 0.66, 0.62, 0.58, 0.56, 0.6, 1.2, 3, 3],"
	"   \"lr_at_min\": 0.003, \"suggested\": 0.001, \"runs\": []}}";

/* Every check with its own advice (as the probes stage writes them now), each
 * advice a distinctive string; the optimizers' one is hostile to HTML,
 * markdown tables and spreadsheets at once. Health is flagged, so its verdict
 * leads in bold. hpo.final as sanity.json holds it. */
#define ADV_HOSTILE "Keep <b>Adam</b> | =cmd(1) & \"q\" zq5"
#define ADV_HOSTILE_J "Keep <b>Adam</b> | =cmd(1) & \\\"q\\\" zq5"
#define ADV_HOSTILE_HTML "Keep &lt;b&gt;Adam&lt;/b&gt; | =cmd(1) &amp; &quot;q&quot; zq5"
#define ADV_HOSTILE_XML "Keep &lt;b&gt;Adam&lt;/b&gt; | =cmd(1) &amp; "
#define FINAL_RUN(epochs, steps, stop, tl, ta, vl, va, low, lowep, lr, l2, width, drop)                   \
	"{\"lowest_val_loss\": " low ", \"lowest_val_epoch\": " lowep ", \"epochs\": " epochs ","            \
	" \"steps\": " steps ", \"stopped_by\": \"" stop "\", \"train_loss_as_trained\": 0.37,"           \
	" \"fit\": {\"train_loss\": " tl ", \"train_acc\": " ta ", \"val_loss\": " vl ", \"val_acc\": " va "}," \
	" \"lr\": " lr ", \"l2\": " l2 ", \"width\": " width ", \"dropout\": " drop "}"

static const char advice_sanity_json[] =
	"{\"level\": \"standard\", \"rows\": 2000, \"train_rows\": 3000, \"subsampled\": true, \"batch\": 32,"
	" \"overfit_batch\": {\"passed\": true, \"verdict\": \"ok\", \"width\": 8, \"final_acc\": 0.992,"
	"   \"advice\": \"Overfit advice zq1.\"},"
	" \"gradient_check\": {\"max_rel_err\": 2.6e-09, \"tolerance\": 1e-06, \"passed\": true,"
	"   \"advice\": \"Gradient advice zq2.\"},"
	" \"init\": {\"width\": 16, \"best\": \"he\", \"passed\": true, \"runs\": ["
	"   {\"init\": \"constant\", \"fit\": {\"val_loss\": 0.497}, \"distinct_units\": 1},"
	"   {\"init\": \"he\", \"fit\": {\"val_loss\": 0.441}, \"distinct_units\": 16}],"
	"   \"advice\": \"Init advice zq3.\"},"
	" \"lr_range\": {\"lr_at_min\": 0.095, \"suggested\": 0.032, \"advised\": 0.018, \"runs\": ["
	"   {\"name\": \"too_low\", \"lr\": 0.0011, \"fit\": {\"train_loss\": 0.459}}],"
	"   \"advice\": \"Learning-rate advice zq4.\"},"
	" \"optimizers\": {\"target_loss\": 0.47, \"best\": 0, \"best_name\": \"adagrad + cosine schedule\","
	"   \"runs\": [{\"optimizer\": \"adagrad\", \"schedule\": \"cosine\", \"steps_to_target\": 140,"
	"   \"fit\": {\"val_loss\": 0.452}}], \"advice\": \"" ADV_HOSTILE_J "\"},"
	" \"regularisation\": {\"best\": \"l2\", \"runs\": [{\"name\": \"none\", \"gap\": 0.129},"
	"   {\"name\": \"l2\", \"gap\": 0.097}], \"advice\": \"Regularisation advice zq6.\"},"
	" \"capacity\": {\"best\": \"mlp128\", \"overfit_from\": \"mlp32x32\", \"still_rising\": true,"
	"   \"advice\": \"Capacity advice zq7.\"},"
	" \"health\": {\"flagged\": true, \"architectures\": [{\"architecture\": \"mlp32\", \"flagged\": true}],"
	"   \"advice\": \"Health advice zq8.\"},"
	" \"hpo\": {\"trials_per_method\": 12, \"best_method\": \"random\","
	"   \"methods\": [{\"method\": \"grid\", \"best_score\": -0.455},"
	"     {\"method\": \"random\", \"best_score\": -0.446, \"lr\": 0.0061, \"l2\": 1.9e-05, \"width\": 36, \"dropout\": 0.13}],"
	"   \"advice\": \"Search advice zq9.\","
	"   \"final\": {\"train_rows\": 2679, \"val_rows\": 321, \"max_epochs\": 60, \"patience\": 3,"
	"     \"min_rel_improvement\": 0.001,"
	"     \"best\": " FINAL_RUN("13", "1222", "plateau", "0.3499", "0.8372", "0.3798", "0.8349", "0.3703", "4",
				   "0.006070827807", "1.856016224e-05", "36", "0.1288411769") ","
	"     \"default\": " FINAL_RUN("60", "5640", "max_epochs", "0.2680", "0.8828", "0.3955", "0.8318", "0.3613",
				      "13", "0.001", "0.0001", "128", "0") ","
	"     \"difference\": {\"value\": -0.0157222188, \"ci_low\": -0.04506654438, \"ci_high\": 0.01362210679,"
	"       \"n\": 321}}},"
	" \"distill\": {\"teacher\": \"mlp-512\", \"fidelity\": 0.967, \"student_acc\": 0.799, \"teacher_acc\": 0.797,"
	"   \"student_beats_teacher\": true, \"advice\": \"Distillation advice zq10.\"}}";

static const char rc_hpo_csv[] =
	"method,trial,lr,l2,width,dropout,score,best_so_far\n"
	"grid,1,0.001,0.0001,32,0.1,-0.45,-0.45\n";

enum fixture { FIX_NORMAL, FIX_INFO_ONLY, FIX_WITH_MITIGATE, FIX_ROOTCAUSE, FIX_ROOTCAUSE_SKIPPED };

struct fixture_run {
	char *root;      /* temp folder holding everything */
	char *run;       /* the run folder */
	char *out;       /* the report's output folder (RUN/.report.tmp) */
	struct audit_config cfg;
	struct stage_ctx ctx;
};

static void put(const char *dir, const char *rel, const char *text)
{
	char *p = path_join(dir, rel);
	char *slash = strrchr(p, '/');
	*slash = 0;
	ck_assert_int_eq(mkdir_p(p), 0);
	*slash = '/';
	/* the fixture must be valid JSON, or the test tests the fixture */
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	ck_assert_msg(j != NULL, "%s: fixture JSON: %d:%d: %s", rel, err.line, err.column, err.text);
	json_decref(j);
	ck_assert_int_eq(file_write_atomic(p, text, strlen(text)), 0);
	free(p);
}

/* a non-JSON fixture file */
static void put_text(const char *dir, const char *rel, const char *text)
{
	char *p = path_join(dir, rel);
	char *slash = strrchr(p, '/');
	*slash = 0;
	ck_assert_int_eq(mkdir_p(p), 0);
	*slash = '/';
	ck_assert_int_eq(file_write_atomic(p, text, strlen(text)), 0);
	free(p);
}

static void fixture_make(struct fixture_run *f, enum fixture kind, enum severity fail_on)
{
	char tmpl[] = "/tmp/mla-report-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	f->root = xstrdup(tmpl);
	f->run = path_join(f->root, "20261127T020000Z");
	put(f->run, "run.json", run_json);
	put(f->run, "ingest/schema.json", schema_json);
	put(f->run, "ingest/quality.json", quality_json);
	put(f->run, "evaluate/metrics.json", metrics_json);
	if (kind == FIX_INFO_ONLY)
		put(f->run, "evaluate/findings.json", evaluate_findings_info_only);
	else {
		put(f->run, "ingest/findings.json", ingest_findings);
		put(f->run, "evaluate/findings.json", evaluate_findings);
	}
	if (kind == FIX_WITH_MITIGATE) {
		put(f->run, "mitigate/mitigations.json", mitigations_json);
		put(f->run, "mitigate/findings.json", mitigate_findings);
	}
	if (kind == FIX_ROOTCAUSE) {
		put(f->run, "rootcause/analysis.json", rc_analysis_json);
		put_text(f->run, "rootcause/drift.csv", rc_drift_csv);
		put(f->run, "mitigate/mitigations.json", rc_mitigations_json);
		put(f->run, "probes/sanity.json", rc_sanity_json);
		put_text(f->run, "probes/hpo.csv", rc_hpo_csv);
	}
	if (kind == FIX_ROOTCAUSE_SKIPPED)
		put(f->run, "rootcause/analysis.json", rc_skipped_json);
	f->out = path_join(f->run, ".report.tmp");
	ck_assert_int_eq(mkdir_p(f->out), 0);
	config_init(&f->cfg);
	f->cfg.name = xstrdup("credit");
	free(f->cfg.metric);
	f->cfg.metric = xstrdup("f1");
	f->cfg.fail_on = fail_on;
	memset(&f->ctx, 0, sizeof f->ctx);
	f->ctx.cfg = &f->cfg;
	f->ctx.run_dir = f->run;
	f->ctx.out_dir = f->out;
	f->ctx.run_id = "20261127T020000Z";
	f->ctx.stage_name = "report";
}

static void fixture_free(struct fixture_run *f)
{
	config_free(&f->cfg);
	remove_tree(f->root);
	free(f->root);
	free(f->run);
	free(f->out);
}

static char *read_out(const struct fixture_run *f, const char *name, size_t *len)
{
	char *p = path_join(f->out, name);
	char *s = file_read_all(p, len);
	ck_assert_msg(s != NULL, "%s not written", name);
	free(p);
	return s;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Does "0.000" occur as a whole number (not inside 0.0004 or 10.000)? */
static int has_zero_number(const char *s)
{
	for (const char *p = strstr(s, "0.000"); p; p = strstr(p + 1, "0.000"))
		if ((p == s || !(p[-1] >= '0' && p[-1] <= '9')) && !(p[5] >= '0' && p[5] <= '9'))
			return 1;
	return 0;
}

static int have_program(const char *prog)
{
	char *cmd = xasprintf("command -v %s >/dev/null 2>&1", prog);
	int ok = system(cmd) == 0;
	free(cmd);
	return ok;
}

static void run_report(struct fixture_run *f)
{
	int rc = report_run(&f->ctx);
	ck_assert_msg(rc == 0, "report_run: %s", mla_error_message());
}

/* ---- escaping ---- */

START_TEST(escape_md_makes_text_literal)
{
	struct strbuf sb;
	sb_init(&sb);
	escape_md(&sb, "<b>*x*</b> | `c` [l](u)\n#\t&amp;");
	ck_assert_str_eq(sb.data, "\\<b\\>\\*x\\*\\<\\/b\\> \\| \\`c\\` \\[l\\]\\(u\\) \\# \\&amp\\;");
	sb.len = 0;
	escape_md(&sb, "naïve 1.5");
	ck_assert_str_eq(sb.data, "naïve 1\\.5");
	sb_free(&sb);
}
END_TEST

START_TEST(escape_html_and_base64)
{
	struct strbuf sb;
	sb_init(&sb);
	escape_html(&sb, "<a href=\"x\">'&'</a>");
	ck_assert_str_eq(sb.data, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (int i = 0; i < 7; i++) {
		sb.len = 0;
		sb.data[0] = 0;
		escape_base64(&sb, (const unsigned char *)in[i], strlen(in[i]));
		ck_assert_str_eq(sb.data, want[i]);
	}
	sb_free(&sb);
}
END_TEST

START_TEST(escape_xlsx_cleans_controls_and_utf8)
{
	char *s = escape_xlsx("a\x01" "b\tc\nd\x7f" "e");
	ck_assert_str_eq(s, "a b\tc\nd e");
	free(s);
	s = escape_xlsx("bad \xff\xfe ok \xc3\xa9 \xed\xa0\x80");   /* invalid bytes, é, a surrogate */
	ck_assert_str_eq(s, "bad \xEF\xBF\xBD\xEF\xBF\xBD ok \xc3\xa9 \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	free(s);
	s = escape_xlsx(HYPER);
	ck_assert_str_eq(s, HYPER);   /* text stays text: write_string keeps it out of formulas */
	free(s);
	s = escape_xlsx(NULL);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(escape_gnuplot_field_is_one_safe_field)
{
	struct strbuf sb;
	sb_init(&sb);
	escape_gnuplot_field(&sb, WEIRD "\tx\r", 40);
	ck_assert_str_eq(sb.data, "q'b`c d x ");
	sb.len = 0;
	escape_gnuplot_field(&sb, "", 40);
	ck_assert_str_eq(sb.data, "(empty)");
	sb.len = 0;
	escape_gnuplot_field(&sb, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 2);   /* cut by characters, not bytes */
	ck_assert_str_eq(sb.data, "\xc3\xa9\xc3\xa9...");
	sb_free(&sb);
}
END_TEST

/* ---- templates ---- */

START_TEST(template_substitutes_once_and_rejects_unknown)
{
	struct tmpl_var vars[] = {{"a", "{{b}}"}, {"b", "B"}};
	struct strbuf sb;
	sb_init(&sb);
	ck_assert_int_eq(tmpl_render("t", "x {{a}} y {{b}}{ }", vars, 2, &sb), 0);
	ck_assert_str_eq(sb.data, "x {{b}} y B{ }");   /* a value is never scanned again */
	sb.len = 0;
	mla_error_clear();
	ck_assert_int_eq(tmpl_render("t.md", "ok\n  {{nope}}", vars, 2, &sb), -1);
	ck_assert_int_eq(mla_error_status(), MLA_EINTERNAL);
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "templates/t.md:2:3: unknown placeholder {{nope}}"));
	mla_error_clear();
	ck_assert_int_eq(tmpl_render("t.md", "{{a", vars, 2, &sb), -1);
	mla_error_clear();
	sb_free(&sb);
}
END_TEST

/* ---- the stage ---- */

START_TEST(html_is_escaped_and_self_contained)
{
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	run_report(&f);
	size_t len;
	char *html = read_out(&f, "index.html", &len);
	ck_assert_ptr_null(strstr(html, "<script"));
	ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	ck_assert_ptr_nonnull(strstr(html, "=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)"));
	/* no external resource: every http:// is the escaped data text */
	ck_assert_ptr_null(strstr(html, "src=\"http"));
	ck_assert_ptr_null(strstr(html, "href=\"http"));
	ck_assert_ptr_null(strstr(html, "https://"));
	ck_assert_ptr_null(strstr(html, "<a "));
	for (const char *p = strstr(html, "http://"); p; p = strstr(p + 1, "http://"))
		ck_assert_msg(p - html >= 6 && !strncmp(p - 6, "&quot;", 6), "http:// outside escaped data");
	/* the column name with a newline stays one table cell */
	ck_assert_ptr_nonnull(strstr(html, "q&quot;b`c d"));
	/* title line, verdict: a medium finding with fail_on high is a warning */
	ck_assert_ptr_nonnull(strstr(html, "<h2>credit · run 20261127T020000Z · WARN</h2>"));
	ck_assert_ptr_nonnull(strstr(html, "class=\"verdict-warn\""));
	/* no mitigate stage: "do first" falls back to the top findings, in
	 * findings_sort's order (at equal severity causes first: step 2 before 1) */
	ck_assert_ptr_nonnull(strstr(html, "<strong>Do first:</strong> look into: Segment region="
					   "&lt;script&gt;alert(1)&lt;/script&gt; scores 0.61 F1 against 0.80 for the "
					   "rest of test (step 1) · look into: Column q&quot;b`c d has 15% missing values "
					   "in current against 1% in train (step 2) · look into: A decision"));
	/* one "this run folder has no ... stage" line each for steps 2, 3, 4 and the probes appendix */
	ck_assert_uint_eq(count_of(html, "stage, so "), 4);
	/* ingest's data_quality finding is in step 2, after the step-2 heading */
	const char *step2 = strstr(html, "<h2>2. Narrow the scope</h2>");
	const char *step3 = strstr(html, "<h2>3. Root cause</h2>");
	const char *dq = strstr(html, "<td>data_quality</td>");
	ck_assert(step2 && step3 && dq && dq > step2 && dq < step3);
	/* every image is an embedded PNG */
	for (const char *p = strstr(html, "<img "); p; p = strstr(p + 1, "<img "))
		ck_assert_msg(!strncmp(p, "<img src=\"data:image/png;base64,", 32), "image not embedded");
	if (have_program("gnuplot")) {
		ck_assert_uint_ge(count_of(html, "<img "), 4);
		static const char *const pngs[] = {"plots/splits.png", "plots/segments.png", "plots/reliability.png",
						   "plots/confusion.png"};
		for (int i = 0; i < 4; i++) {
			char *p = path_join(f.out, pngs[i]);
			struct stat st;
			ck_assert_msg(stat(p, &st) == 0 && st.st_size > 100, "%s missing", pngs[i]);
			free(p);
		}
	}
	free(html);
	fixture_free(&f);
}
END_TEST

START_TEST(undefined_metric_is_na_never_zero)
{
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	run_report(&f);
	char *html = read_out(&f, "index.html", NULL);
	/* the per-split table row of precision: current is undefined */
	const char *row = strstr(html, "<td>precision</td>");
	ck_assert_ptr_nonnull(row);
	const char *end = strstr(row, "</tr>");
	char *r = xstrndup(row, (size_t)(end - row));
	ck_assert_ptr_nonnull(strstr(r, "n/a (no predicted positives)"));
	ck_assert_ptr_null(strstr(r, "0.000"));
	ck_assert_ptr_nonnull(strstr(r, "0.780 ±0.050"));   /* the defined ones: value ± half-width */
	free(r);
	/* no undefined value anywhere was turned into a number (the fixture has
	 * no true zero among its three-decimal values) */
	ck_assert(!has_zero_number(html));
	free(html);
	char *md = read_out(&f, "summary.md", NULL);
	ck_assert(!has_zero_number(md));
	free(md);
	fixture_free(&f);
}
END_TEST

/* Required keys of summary.schema.json, checked in C so the test needs no
 * Python; the jsonschema check below runs when it can. */
static void check_summary_shape(const json_t *s)
{
	static const char *const req[] = {"tool", "version", "run_id", "verdict", "task", "metrics", "findings",
					  "mitigations"};
	for (int i = 0; i < 8; i++)
		ck_assert_msg(json_object_get(s, req[i]) != NULL, "summary.json lacks %s", req[i]);
	ck_assert_str_eq(json_string_value(json_object_get(s, "tool")), "mlaudit");
	ck_assert_str_eq(json_string_value(json_object_get(s, "version")), "0.1.0");
	const json_t *task = json_object_get(s, "task");
	static const char *const treq[] = {"type", "label", "classes", "metric"};
	for (int i = 0; i < 4; i++)
		ck_assert_msg(json_object_get(task, treq[i]) != NULL, "task lacks %s", treq[i]);
	const json_t *findings = json_object_get(s, "findings");
	ck_assert(json_is_array(findings));
	for (size_t i = 0; i < json_array_size(findings); i++) {
		static const char *const freq[] = {"id", "step", "kind", "severity", "title", "subject", "evidence"};
		for (int k = 0; k < 7; k++)
			ck_assert(json_object_get(json_array_get(findings, i), freq[k]) != NULL);
	}
	const char *split;
	json_t *mm;
	json_object_foreach((json_t *)json_object_get(s, "metrics"), split, mm) {
		const char *name;
		json_t *est;
		json_object_foreach(mm, name, est) {
			ck_assert(json_object_get(est, "value") != NULL);
			ck_assert(json_is_integer(json_object_get(est, "n")));
		}
	}
}

static char *schema_path(void)
{
	static const char *const rel[] = {"stages/report/summary.schema.json", "summary.schema.json", "../shared/summary.schema.json"};
	for (int i = 0; i < 3; i++) {
		char *p = path_join(mla_home(), rel[i]);
		if (file_exists(p))
			return p;
		free(p);
	}
	return NULL;
}

START_TEST(summary_json_matches_schema_and_verdict)
{
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	run_report(&f);
	char *p = path_join(f.out, "summary.json");
	json_error_t err;
	json_t *s = json_load_file(p, 0, &err);
	ck_assert_msg(s != NULL, "summary.json: %s", err.text);
	check_summary_shape(s);
	ck_assert_str_eq(json_string_value(json_object_get(s, "verdict")), "warn");
	ck_assert_str_eq(json_string_value(json_object_get(s, "run_id")), "20261127T020000Z");
	ck_assert_str_eq(json_string_value(json_object_get(s, "mode")), "model");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "task"), "positive")), "bad");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "task"), "metric")), "f1");
	/* every metric of metrics.json, undefined ones as null with a reason */
	const json_t *prec = json_object_get(json_object_get(json_object_get(s, "metrics"), "current"), "precision");
	ck_assert(json_is_null(json_object_get(prec, "value")));
	ck_assert_str_eq(json_string_value(json_object_get(prec, "reason")), "no predicted positives");
	ck_assert_uint_eq(json_object_size(json_object_get(json_object_get(s, "metrics"), "test")), 6);
	/* findings from both stages, sorted: medium first, then the lows causes
	 * first (step 2 before step 1), info last */
	const json_t *fs = json_object_get(s, "findings");
	ck_assert_uint_eq(json_array_size(fs), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 0), "kind")), "weak_segment");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 1), "kind")), "data_quality");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 2), "kind")), "misaligned_metric");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 3), "kind")), "confident_errors");
	ck_assert_uint_eq(json_array_size(json_object_get(s, "mitigations")), 0);
	json_decref(s);

	char *schema = schema_path();
	if (schema && system("python3 -c 'import jsonschema' >/dev/null 2>&1") == 0) {
		char *cmd = xasprintf("python3 -c 'import json,sys,jsonschema; "
				      "jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "
				      "'%s' '%s'", p, schema);
		ck_assert_msg(system(cmd) == 0, "summary.json does not validate against %s", schema);
		free(cmd);
	}
	free(schema);
	free(p);
	fixture_free(&f);
}
END_TEST

static const char *verdict_for(enum fixture kind, enum severity fail_on)
{
	struct fixture_run f;
	fixture_make(&f, kind, fail_on);
	run_report(&f);
	char *p = path_join(f.out, "summary.json");
	json_t *s = json_load_file(p, 0, NULL);
	ck_assert_ptr_nonnull(s);
	const char *v = json_string_value(json_object_get(s, "verdict"));
	static char buf[8];
	snprintf(buf, sizeof buf, "%s", v ? v : "");
	json_decref(s);
	free(p);
	fixture_free(&f);
	return buf;
}

START_TEST(verdict_follows_fail_on)
{
	setenv("MLAUDIT_GNUPLOT", "/nonexistent/gnuplot", 1);   /* plots are not the point here */
	ck_assert_str_eq(verdict_for(FIX_NORMAL, SEV_HIGH), "warn");    /* worst is medium */
	ck_assert_str_eq(verdict_for(FIX_NORMAL, SEV_MEDIUM), "fail");
	ck_assert_str_eq(verdict_for(FIX_NORMAL, SEV_LOW), "fail");
	ck_assert_str_eq(verdict_for(FIX_INFO_ONLY, SEV_HIGH), "pass");
	ck_assert_str_eq(verdict_for(FIX_INFO_ONLY, SEV_INFO), "fail");
	unsetenv("MLAUDIT_GNUPLOT");
}
END_TEST

START_TEST(summary_md_is_short)
{
	struct fixture_run f;
	fixture_make(&f, FIX_WITH_MITIGATE, SEV_HIGH);
	run_report(&f);
	char *md = read_out(&f, "summary.md", NULL);
	ck_assert_msg(!strncmp(md, "## credit · run 20261127T020000Z · WARN\n", 40), "title line: %.60s", md);
	size_t items = 0;
	for (const char *line = md; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (line[0] >= '1' && line[0] <= '9' && line[1] == '.' && line[2] == ' ')
			items++;
	}
	ck_assert_uint_ge(items, 1);
	ck_assert_uint_le(items, 5);
	ck_assert_ptr_nonnull(strstr(md, "| F1 (chosen metric) | 0.846 ±0.006 | 0.801 ±0.014 | 0.712 ±0.011 |"));
	/* the measured effect goes inside the sentence of its mitigation */
	ck_assert_ptr_nonnull(strstr(md, "**Do first:** Move the threshold to 0\\.31\\. · Collect about 500 more rows "
					 "with region\\=west (measured on a probe: F1 0.610 → 0.680)\\."));
	ck_assert_ptr_null(strstr(md, "Only for information"));
	ck_assert_ptr_nonnull(strstr(md, "\\<script\\>"));
	size_t len = strlen(md);
	ck_assert_str_eq(md + len - strlen("Full report: report/index.html\n"), "Full report: report/index.html\n");
	free(md);

	/* with a mitigate stage: its table and no "missing stage" line in step 4 */
	char *html = read_out(&f, "index.html", NULL);
	ck_assert_uint_eq(count_of(html, "stage, so "), 3);
	ck_assert_ptr_nonnull(strstr(html, "<td>collect_data</td>"));
	ck_assert_ptr_nonnull(strstr(html, "<td>underrepresented_slice</td>"));
	/* step 4: before → after with intervals, the change computed when the
	 * effect gives none, and the finding it addresses by kind */
	ck_assert_ptr_nonnull(strstr(html, "<td>F1 0.610 ±0.060 → 0.680 ±0.060 (+0.070)</td>"));
	ck_assert_ptr_nonnull(strstr(html, "<td>weak segment</td>"));
	free(html);
	fixture_free(&f);
}
END_TEST

/* Run a command and return its stdout. */
static char *capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	struct strbuf sb;
	sb_init(&sb);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, p)) > 0)
		sb_putn(&sb, buf, n);
	pclose(p);
	return sb_detach(&sb);
}

START_TEST(xlsx_keeps_data_as_strings_and_is_deterministic)
{
	setenv("MLAUDIT_GNUPLOT", "/nonexistent/gnuplot", 1);
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	run_report(&f);
	size_t len1, len2;
	char *x1 = read_out(&f, "report.xlsx", &len1);
	ck_assert_uint_gt(len1, 1000);
	ck_assert(!memcmp(x1, "PK", 2));
	/* a second report of the same run, into a fresh folder: same bytes */
	char *out2 = path_join(f.run, ".report2.tmp");
	ck_assert_int_eq(mkdir_p(out2), 0);
	const char *out1 = f.ctx.out_dir;
	f.ctx.out_dir = out2;
	run_report(&f);
	f.ctx.out_dir = out1;
	char *p2 = path_join(out2, "report.xlsx");
	char *x2 = file_read_all(p2, &len2);
	ck_assert_ptr_nonnull(x2);
	ck_assert_uint_eq(len1, len2);
	ck_assert_msg(!memcmp(x1, x2, len1), "report.xlsx differs between two runs on the same input");

	if (have_program("unzip")) {
		char *xlsx = path_join(f.out, "report.xlsx");
		char *cmd = xasprintf("unzip -p '%s' xl/sharedStrings.xml", xlsx);
		char *sst = capture(cmd);
		free(cmd);
		ck_assert_msg(strstr(sst, "=HYPERLINK(") != NULL, "HYPERLINK text not a shared string");
		ck_assert_ptr_nonnull(strstr(sst, "&lt;script&gt;alert(1)&lt;/script&gt;"));
		free(sst);
		cmd = xasprintf("unzip -p '%s' 'xl/worksheets/*.xml'", xlsx);
		char *sheets = capture(cmd);
		free(cmd);
		ck_assert_uint_gt(strlen(sheets), 100);
		ck_assert_ptr_null(strstr(sheets, "<f>"));
		ck_assert_ptr_null(strstr(sheets, "<f "));
		free(sheets);
		cmd = xasprintf("unzip -Z1 '%s'", xlsx);
		char *names = capture(cmd);
		free(cmd);
		ck_assert_ptr_nonnull(strstr(names, "xl/charts/chart1.xml"));
		free(names);
		free(xlsx);
	}
	free(x1);
	free(x2);
	free(p2);
	free(out2);
	fixture_free(&f);
	unsetenv("MLAUDIT_GNUPLOT");
}
END_TEST

START_TEST(gnuplot_sees_data_only_through_files)
{
	if (!have_program("gnuplot"))
		return;
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	run_report(&f);
	char *gp = read_out(&f, "plots/plots.gp", NULL);
	ck_assert_ptr_null(strstr(gp, "q\"b"));
	ck_assert_ptr_null(strstr(gp, "b`c"));
	ck_assert_ptr_null(strstr(gp, "HYPERLINK"));
	ck_assert_ptr_null(strstr(gp, "<script"));
	ck_assert_ptr_null(strstr(gp, "alert"));
	ck_assert_ptr_null(strstr(gp, "west"));
	ck_assert_ptr_null(strstr(gp, f.out));   /* gnuplot runs in plots/: no paths either */
	free(gp);
	char *seg = read_out(&f, "plots/segments_a.tsv", NULL);
	/* labels cut to 28 characters, quotes turned to apostrophes, newline to space */
	ck_assert_ptr_nonnull(strstr(seg, "\tq'b`c d==HYPERLINK('http://x...\t"));
	ck_assert_ptr_nonnull(strstr(seg, "\tregion=<script>alert(1)</scr...\t"));
	free(seg);
	fixture_free(&f);
}
END_TEST

START_TEST(missing_or_hanging_gnuplot_is_not_fatal)
{
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	setenv("MLAUDIT_GNUPLOT", "/nonexistent/gnuplot", 1);
	run_report(&f);
	char *html = read_out(&f, "index.html", NULL);
	ck_assert_ptr_nonnull(strstr(html, "Plots unavailable: gnuplot was not found"));
	ck_assert_ptr_null(strstr(html, "<img "));
	free(html);

	/* a gnuplot that never finishes is killed after the timeout */
	char *fake = path_join(f.root, "slowplot");
	const char *script = "#!/bin/sh\nexec sleep 30\n";
	ck_assert_int_eq(file_write_atomic(fake, script, strlen(script)), 0);
	ck_assert_int_eq(chmod(fake, 0755), 0);
	setenv("MLAUDIT_GNUPLOT", fake, 1);
	double saved = plots_timeout_s;
	plots_timeout_s = 0.3;
	double t0 = now_seconds();
	run_report(&f);
	ck_assert(now_seconds() - t0 < 10);
	plots_timeout_s = saved;
	html = read_out(&f, "index.html", NULL);
	ck_assert_ptr_nonnull(strstr(html, "gnuplot did not finish"));
	ck_assert_ptr_null(strstr(html, "<img "));
	free(html);
	unsetenv("MLAUDIT_GNUPLOT");
	free(fake);
	fixture_free(&f);
}
END_TEST

START_TEST(bad_artifact_is_internal_error)
{
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	char *p = path_join(f.run, "evaluate/findings.json");
	const char *bad = "{\"findings\": [{\"id\": \"F-1\", \"kind\": \"x\", \"title\": \"t\", \"severity\": \"huge\","
			  " \"step\": 1, \"subject\": {}, \"evidence\": {}}]}";
	ck_assert_int_eq(file_write_atomic(p, bad, strlen(bad)), 0);
	mla_error_clear();
	ck_assert_int_eq(report_run(&f.ctx), -1);
	ck_assert_int_eq(mla_error_status(), MLA_EINTERNAL);
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "evaluate/findings.json: finding 0: severity"));
	mla_error_clear();
	free(p);
	fixture_free(&f);
}
END_TEST

/* ---- the root-cause sections, sheets and plot data ---- */

/* The HTML from `heading` up to the next heading of level 2 or 3 (a copy). */
static char *section_of(const char *html, const char *heading)
{
	const char *a = strstr(html, heading);
	ck_assert_msg(a != NULL, "no section %s", heading);
	const char *end = a + strlen(heading);
	const char *h2 = strstr(end, "<h2>"), *h3 = strstr(end, "<h3>");
	const char *b = h2 && (!h3 || h2 < h3) ? h2 : h3 ? h3 : end + strlen(end);
	return xstrndup(a, (size_t)(b - a));
}

START_TEST(rootcause_sections_escape_a_hostile_feature)
{
	struct fixture_run f;
	fixture_make(&f, FIX_ROOTCAUSE, SEV_HIGH);
	run_report(&f);
	char *html = read_out(&f, "index.html", NULL);
	ck_assert_ptr_null(strstr(html, "<script"));
	ck_assert_ptr_null(strstr(html, "=cmd\"q"));
	/* every section that names the feature names it escaped, on one line */
	static const char *const sections[] = {"<h3>Error slices</h3>", "<h3>Error tree</h3>", "<h3>Data drift</h3>",
					       "<h3>Multivariate drift and concept drift</h3>",
					       "<h3>Under-represented slices</h3>", "<h3>Feature importance and its shift</h3>",
					       "<h3>Single points: the most confident errors</h3>", "<h2>4. Mitigate</h2>"};
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
		char *sec = section_of(html, sections[i]);
		ck_assert_msg(strstr(sec, HOST_HTML) != NULL, "%s: the hostile name is missing or not escaped", sections[i]);
		free(sec);
	}
	/* the pipe stays inside its cell: the drift table's rows have 8 cells */
	char *drift = section_of(html, "<h3>Data drift</h3>");
	size_t rows = 0;
	for (const char *tr = strstr(drift, "<tr>"); tr; tr = strstr(tr + 1, "<tr>")) {
		const char *end = strstr(tr, "</tr>");
		char *row = xstrndup(tr, (size_t)(end - tr));
		ck_assert_uint_eq(count_of(row, "<td") + count_of(row, "<th"), 8);
		rows += strstr(row, HOST_HTML) != NULL;
		free(row);
	}
	ck_assert_uint_eq(rows, 2);   /* the hostile feature in test and in current */
	ck_assert_ptr_nonnull(strstr(drift, "<td><strong>yes</strong></td>"));
	ck_assert_ptr_nonnull(strstr(drift, "Not compared: region in current"));
	free(drift);
	/* the numbers of the new sections */
	char *dom = section_of(html, "<h3>Multivariate drift and concept drift</h3>");
	ck_assert_ptr_nonnull(strstr(dom, "<td>0.910 ±0.020</td>"));
	ck_assert_ptr_nonnull(strstr(dom, "explains <strong>0.042 ±0.022</strong> of the drop"));
	ck_assert_ptr_nonnull(strstr(dom, "<strong>0.019 ±0.029</strong> is unexplained (its interval includes 0"));
	ck_assert_ptr_nonnull(strstr(dom, "within the baseline"));
	free(dom);
	char *imp = section_of(html, "<h3>Feature importance and its shift</h3>");
	ck_assert_ptr_nonnull(strstr(imp, "0.710 ±0.030 of current"));
	ck_assert_ptr_nonnull(strstr(imp, "below 0.8 on current: there the surrogate is not the model"));
	/* largest importance first */
	ck_assert(strstr(imp, HOST_HTML) < strstr(imp, "<td>x1</td>"));
	free(imp);
	char *pts = section_of(html, "<h3>Single points: the most confident errors</h3>");
	ck_assert_ptr_nonnull(strstr(pts, "= =cmd|1 (+0.21)"));
	ck_assert_ptr_nonnull(strstr(pts, "All 1 rows have train neighbours that mostly carry another label"));
	free(pts);
	char *step4 = section_of(html, "<h2>4. Mitigate</h2>");
	ck_assert_ptr_nonnull(strstr(step4, "accuracy on current 0.781 ±0.028 → 0.830 ±0.025 (+0.049 ±0.019) — "
					    HOST_HTML " rescaled before scoring"));
	free(step4);
	/* of the root-cause analyses only label noise and label shift are absent */
	ck_assert_uint_eq(count_of(html, "did not run"), 2);
	free(html);
	fixture_free(&f);
}
END_TEST

START_TEST(rootcause_sheets_have_their_headers_and_keep_text_as_text)
{
	if (!have_program("unzip"))
		return;
	setenv("MLAUDIT_GNUPLOT", "/nonexistent/gnuplot", 1);
	struct fixture_run f;
	fixture_make(&f, FIX_ROOTCAUSE, SEV_HIGH);
	run_report(&f);
	char *xlsx = path_join(f.out, "report.xlsx");
	char *cmd = xasprintf("unzip -p '%s' xl/workbook.xml", xlsx);
	char *wb = capture(cmd);
	free(cmd);
	static const char *const sheets[] = {"Summary", "Metrics", "Segments", "Findings", "Slices", "Drift", "Importance",
					     "Mitigations", "Training checks", "Data profile"};
	const char *prev = wb;
	for (size_t i = 0; i < sizeof sheets / sizeof sheets[0]; i++) {
		char *tag = xasprintf("<sheet name=\"%s\"", sheets[i]);
		const char *at = strstr(wb, tag);
		ck_assert_msg(at != NULL, "no sheet %s", sheets[i]);
		ck_assert_msg(at >= prev, "sheet %s out of order", sheets[i]);
		prev = at;
		free(tag);
	}
	free(wb);
	cmd = xasprintf("unzip -p '%s' xl/sharedStrings.xml", xlsx);
	char *sst = capture(cmd);
	free(cmd);
	static const char *const headers[] = {
		"<t>slice</t>", "<t>ratio lower bound</t>", "<t>share of the split's errors</t>",   /* Slices */
		"<t>Wasserstein / train sd</t>", "<t>PSI</t>", "<t>Jensen-Shannon</t>", "<t>quantity</t>",   /* Drift */
		"<t>unexplained</t>", "<t>explained by covariate shift</t>",
		"<t>train importance</t>", "<t>current rank</t>", "<t>Fidelity on current</t>",   /* Importance */
		"<t>change ci_low</t>", "<t>how measured</t>",   /* Mitigations */
		"<t>check</t>", "<t>verdict</t>", "<t>advice</t>", "<t>Gradient check</t>", "<t>best_so_far</t>",   /* checks */
		"<t>Learning-rate range test</t>",
	};
	for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++)
		ck_assert_msg(strstr(sst, headers[i]) != NULL, "sharedStrings lacks %s", headers[i]);
	/* the hostile name is a string wherever it appears, never markup */
	ck_assert_ptr_nonnull(strstr(sst, "&lt;script&gt;|=cmd"));
	ck_assert_ptr_nonnull(strstr(sst, "AUC drop without &lt;script&gt;|=cmd"));
	ck_assert_ptr_null(strstr(sst, "<script"));
	free(sst);
	cmd = xasprintf("unzip -p '%s' 'xl/worksheets/*.xml'", xlsx);
	char *ws = capture(cmd);
	free(cmd);
	ck_assert_ptr_null(strstr(ws, "<f>"));
	ck_assert_ptr_null(strstr(ws, "<f "));
	free(ws);
	/* native charts: Segments, Slices, Importance */
	cmd = xasprintf("unzip -Z1 '%s'", xlsx);
	char *names = capture(cmd);
	free(cmd);
	ck_assert_ptr_nonnull(strstr(names, "xl/charts/chart3.xml"));
	free(names);

	/* the same run gives the same bytes */
	size_t len1, len2;
	char *x1 = file_read_all(xlsx, &len1);
	char *out2 = path_join(f.run, ".report2.tmp");
	ck_assert_int_eq(mkdir_p(out2), 0);
	const char *out1 = f.ctx.out_dir;
	f.ctx.out_dir = out2;
	run_report(&f);
	f.ctx.out_dir = out1;
	char *p2 = path_join(out2, "report.xlsx");
	char *x2 = file_read_all(p2, &len2);
	ck_assert(x1 && x2 && len1 == len2 && !memcmp(x1, x2, len1));
	free(x1);
	free(x2);
	free(p2);
	free(out2);
	free(xlsx);
	fixture_free(&f);
	unsetenv("MLAUDIT_GNUPLOT");
}
END_TEST

/* Every line of a tab-separated data file has the header's field count:
 * no tab or newline of a name split a row. */
static void check_tsv(const char *text, const char *name)
{
	size_t fields = 0, line = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		ck_assert_msg(nl != NULL, "%s: last line unterminated", name);
		size_t tabs = 0;
		for (const char *c = p; c < nl; c++)
			tabs += *c == '\t';
		if (line++ == 0)
			fields = tabs + 1;
		ck_assert_msg(tabs + 1 == fields, "%s: line %zu has %zu fields, the header %zu", name, line, tabs + 1, fields);
		ck_assert_msg(memchr(p, '"', (size_t)(nl - p)) == NULL, "%s: line %zu has a double quote", name, line);
		p = nl + 1;
	}
}

START_TEST(rootcause_plot_data_escape_a_hostile_feature)
{
	struct fixture_run f;
	fixture_make(&f, FIX_ROOTCAUSE, SEV_HIGH);
	setenv("MLAUDIT_GNUPLOT", "/nonexistent/gnuplot", 1);   /* the data files are written either way */
	run_report(&f);
	unsetenv("MLAUDIT_GNUPLOT");
	static const char *const files[] = {"plots/slice_labels.tsv", "plots/tree.tsv", "plots/drift.tsv",
					    "plots/importance.tsv", "plots/underrep_0.tsv"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char *t = read_out(&f, files[i], NULL);
		check_tsv(t, files[i]);
		ck_assert_msg(strstr(t, HOST_GP) != NULL, "%s: the name is missing or not made safe", files[i]);
		free(t);
	}
	char *tree = read_out(&f, "plots/tree.tsv", NULL);
	/* current's tree (the compared split) is drawn: 5 nodes, root without a parent */
	ck_assert_uint_eq(count_of(tree, "\n"), 6);
	ck_assert_ptr_nonnull(strstr(tree, "\tall rows\t900 rows · 21.9% wrong · 100% of errors\tNaN\tNaN\n"));
	free(tree);
	char *drift = read_out(&f, "plots/drift.tsv", NULL);
	/* largest PSI first, drifted marked for current only */
	ck_assert_ptr_nonnull(strstr(drift, "x\tfeature\ttest\tdrifted\tcurrent\tdrifted\n0\t" HOST_GP "\t0.02\t0\t7.5\t1\n"));
	free(drift);
	char *gp = read_out(&f, "plots/plots.gp", NULL);
	ck_assert_ptr_null(strstr(gp, "<script"));
	ck_assert_ptr_null(strstr(gp, "=cmd"));
	ck_assert_ptr_nonnull(strstr(gp, "plot 'tree.tsv'"));
	free(gp);
	fixture_free(&f);
}
END_TEST

START_TEST(sections_say_their_analysis_did_not_run)
{
	struct fixture_run f;
	fixture_make(&f, FIX_ROOTCAUSE_SKIPPED, SEV_HIGH);
	setenv("MLAUDIT_GNUPLOT", "/nonexistent/gnuplot", 1);
	run_report(&f);
	unsetenv("MLAUDIT_GNUPLOT");
	char *html = read_out(&f, "index.html", NULL);
	/* the analysis's own reason where it gave one, else that it left no result */
	ck_assert_ptr_nonnull(strstr(html, "The domain classifier did not run: fewer than 100 rows on a side."));
	static const char *const absent[] = {"The drift analysis", "The representation analysis", "The importance analysis",
					     "The single-point analysis"};
	for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
		char *line = xasprintf("%s did not run: rootcause/analysis.json holds no result for it.", absent[i]);
		ck_assert_msg(strstr(html, line) != NULL, "no line: %s", line);
		free(line);
	}
	ck_assert_ptr_nonnull(strstr(html, "<strong>Label noise:</strong> did not run"));
	ck_assert_ptr_nonnull(strstr(html, "No slice errs significantly more than the rest of its split (0 slices tested"));
	/* the rootcause stage ran: no "missing stage" line for steps 2 and 3 */
	ck_assert_uint_eq(count_of(html, "stage, so "), 2);
	free(html);
	if (have_program("unzip")) {
		char *xlsx = path_join(f.out, "report.xlsx");
		char *cmd = xasprintf("unzip -p '%s' xl/sharedStrings.xml", xlsx);
		char *sst = capture(cmd);
		ck_assert_ptr_nonnull(strstr(sst, "The domain classifier did not run: fewer than 100 rows on a side"));
		ck_assert_ptr_nonnull(strstr(sst, "The importance analysis did not run: rootcause/analysis.json holds no result"));
		ck_assert_ptr_nonnull(strstr(sst, "The training checks did not run: the probes stage is not in this run"));
		free(sst);
		free(cmd);
		free(xlsx);
	}
	/* junit: the kind of a skipped analysis was not checked, with its reason */
	char *junit = read_out(&f, "junit.xml", NULL);
	const char *cd = strstr(junit, "<testcase name=\"concept_drift\"");
	ck_assert_ptr_nonnull(cd);
	ck_assert(!strncmp(strstr(cd, "<skipped"), "<skipped message=\"not checked: fewer than 100 rows on a side\"", 61));
	const char *es = strstr(junit, "<testcase name=\"error_slice\"");
	ck_assert_ptr_nonnull(es);
	const char *next = strstr(es + 1, "<testcase");
	char *es_case = xstrndup(es, next ? (size_t)(next - es) : strlen(es));
	ck_assert_ptr_null(strstr(es_case, "<skipped"));   /* the slice search ran and found nothing */
	free(es_case);
	free(junit);
	fixture_free(&f);
}
END_TEST

START_TEST(lr_plot_is_clipped_when_the_loss_diverges)
{
	struct fixture_run f;
	fixture_make(&f, FIX_ROOTCAUSE, SEV_HIGH);
	setenv("MLAUDIT_GNUPLOT", "/nonexistent/gnuplot", 1);
	run_report(&f);
	/* smoothed minimum 0.56, highest before it 0.70: the range is that with
	 * half the span as margin, far below the raw 1e5 */
	char *clip = read_out(&f, "plots/lr_clip.tsv", NULL);
	ck_assert_str_eq(clip, "low\thigh\n0.49\t0.77\n");
	free(clip);
	char *gp = read_out(&f, "plots/plots.gp", NULL);
	ck_assert_ptr_nonnull(strstr(gp, "if (1) {\n\tstats 'lr_clip.tsv'"));
	free(gp);

	/* a curve that never climbs back: no clipping, the axis autoscales */
	char *p = path_join(f.run, "probes/sanity.json");
	const char *calm = "{\"lr_range\": {\"lr\": [1e-05, 0.0001, 0.001, 0.01], \"loss\": [0.7, 0.6, 0.5, 0.45],"
			   " \"smooth\": [0.7, 0.65, 0.58, 0.52], \"suggested\": 0.003}}";
	ck_assert_int_eq(file_write_atomic(p, calm, strlen(calm)), 0);
	free(p);
	char *out2 = path_join(f.run, ".report2.tmp");
	ck_assert_int_eq(mkdir_p(out2), 0);
	f.ctx.out_dir = out2;
	run_report(&f);
	char *c2 = path_join(out2, "plots/lr_clip.tsv");
	ck_assert(!file_exists(c2));
	char *gp2p = path_join(out2, "plots/plots.gp");
	char *gp2 = file_read_all(gp2p, NULL);
	ck_assert_ptr_nonnull(gp2);
	ck_assert_ptr_nonnull(strstr(gp2, "if (0) {\n\tstats 'lr_clip.tsv'"));
	f.ctx.out_dir = f.out;
	free(gp2);
	free(gp2p);
	free(c2);
	free(out2);
	unsetenv("MLAUDIT_GNUPLOT");
	fixture_free(&f);
}
END_TEST

START_TEST(training_checks_print_each_checks_own_advice)
{
	setenv("MLAUDIT_GNUPLOT", "/nonexistent/gnuplot", 1);
	struct fixture_run f;
	fixture_make(&f, FIX_ROOTCAUSE, SEV_HIGH);
	/* a run from before the checks wrote advice: the report's own wording */
	run_report(&f);
	char *html = read_out(&f, "index.html", NULL);
	char *sec = section_of(html, "<h3>Training checks</h3>");
	ck_assert_ptr_nonnull(strstr(sec, "<li><strong>Gradient check:</strong> The probes' gradients are right: their "
					  "results can be trusted. <em>Largest relative error 1e-09 (tolerance 1e-06).</em></li>"));
	ck_assert_ptr_nonnull(strstr(sec, "<li><strong>Learning-rate range test:</strong> Start Adam at about 0.001"));
	free(sec);
	free(html);

	char *p = path_join(f.run, "probes/sanity.json");
	ck_assert_int_eq(file_write_atomic(p, advice_sanity_json, strlen(advice_sanity_json)), 0);
	free(p);
	run_report(&f);
	html = read_out(&f, "index.html", NULL);
	ck_assert_ptr_null(strstr(html, "<b>Adam"));
	sec = section_of(html, "<h3>Training checks</h3>");
	/* each check's own advice is its line, in the seed's order, escaped */
	static const char *const lines[] = {
		"<li><strong>Overfit a mini-batch:</strong> Overfit advice zq1.</li>",
		"<li><strong>Gradient check:</strong> Gradient advice zq2.</li>",
		"<li><strong>Initialisation:</strong> Init advice zq3. <em>Validation loss per initialisation: constant 0.497, "
		"he 0.441.</em></li>",
		"<li><strong>Learning-rate range test:</strong> Learning-rate advice zq4. <em>Fixed rates: lr 0.0011 (too low) "
		"ends at training loss 0.459.</em></li>",
		"<li><strong>Optimizers and schedules:</strong> " ADV_HOSTILE_HTML "</li>",
		"<li><strong>Regularisation:</strong> Regularisation advice zq6. <em>Train/validation loss gap: none 0.129, l2 "
		"0.097.</em></li>",
		"<li><strong>Capacity and learning curve:</strong> Capacity advice zq7.</li>",
		"<li><strong>Gradient health:</strong> <strong>flagged</strong>. Health advice zq8.</li>",
		"<li><strong>Hyper-parameter search:</strong> Search advice zq9. <em>12 trials per method; best validation "
		"loss: grid 0.455, random 0.446.</em></li>",
		"<li><strong>Distillation:</strong> <strong>the student beats its teacher</strong>. Distillation advice "
		"zq10.</li>",
	};
	const char *prev = sec;
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		const char *at = strstr(sec, lines[i]);
		ck_assert_msg(at != NULL, "no line %s", lines[i]);
		ck_assert_msg(at > prev, "line out of order: %s", lines[i]);
		prev = at;
	}
	/* the report's own lines that contradicted the checks are gone */
	static const char *const old[] = {"Start from", "Start Adam at about", "Regularise with", "real search",
					  "exploding above 1", "The teacher overfits", "is enough;", "No layer vanished",
					  "has a bug", "can be trusted"};
	for (size_t i = 0; i < sizeof old / sizeof old[0]; i++)
		ck_assert_msg(strstr(sec, old[i]) == NULL, "old line left: %s", old[i]);
	/* the search's best on the full train set beside the default */
	ck_assert_ptr_nonnull(strstr(sec, "each trained on 2,679 rows until its training loss"));
	ck_assert_ptr_nonnull(strstr(sec, "for 3 epochs in a row, or for at most 60 epochs; scored on 321 held-out rows"));
	ck_assert_ptr_nonnull(strstr(sec, "<td>search's best</td>\n<td>lr 0.0061, L2 1.9e-05, 36 units, dropout 0.13</td>\n"
					  "<td>13 (1,222)</td>\n<td>training loss stopped improving</td>\n<td>0.350</td>\n"
					  "<td>83.7%</td>\n<td>0.380</td>\n<td>83.5%</td>\n<td>0.370 (4)</td>"));
	ck_assert_ptr_nonnull(strstr(sec, "<td>default</td>\n<td>lr 0.001, L2 0.0001, 128 units, dropout 0</td>\n"
					  "<td>60 (5,640)</td>\n<td>the cap of 60 epochs</td>\n<td>0.268</td>\n<td>88.3%</td>\n"
					  "<td>0.396</td>\n<td>83.2%</td>\n<td>0.361 (13)</td>"));
	ck_assert_ptr_nonnull(strstr(sec, "paired by held-out row: <strong>-0.016</strong> (95% CI -0.045 to 0.014, 321 "
					  "rows): the interval includes 0, no difference is shown."));
	free(sec);
	free(html);

	if (have_program("unzip")) {
		char *xlsx = path_join(f.out, "report.xlsx");
		char *cmd = xasprintf("unzip -p '%s' xl/sharedStrings.xml", xlsx);
		char *sst = capture(cmd);
		free(cmd);
		for (int i = 1; i <= 10; i++) {
			char *tag = xasprintf(" zq%d%s</t>", i, i == 5 ? "" : ".");
			ck_assert_msg(strstr(sst, tag) != NULL, "sheet lacks the advice of check %d", i);
			free(tag);
		}
		ck_assert_ptr_nonnull(strstr(sst, ADV_HOSTILE_XML));
		ck_assert_ptr_null(strstr(sst, "<b>"));
		for (size_t i = 0; i < sizeof old / sizeof old[0]; i++)
			ck_assert_msg(strstr(sst, old[i]) == NULL, "old line left in the sheet: %s", old[i]);
		ck_assert_ptr_nonnull(strstr(sst, "<t>training loss stopped improving</t>"));
		ck_assert_ptr_nonnull(strstr(sst, "<t>the cap of 60 epochs</t>"));
		ck_assert_ptr_nonnull(strstr(sst, "<t>lr 0.0061, L2 1.9e-05, 36 units, dropout 0.13</t>"));
		free(sst);
		/* the hostile advice is a string cell, never a formula; the final
		 * training's numbers are number cells */
		cmd = xasprintf("unzip -p '%s' 'xl/worksheets/*.xml'", xlsx);
		char *ws = capture(cmd);
		free(cmd);
		ck_assert_ptr_null(strstr(ws, "<f>"));
		ck_assert_ptr_null(strstr(ws, "<f "));
		ck_assert_ptr_nonnull(strstr(ws, "<v>-0.0157222188</v>"));
		ck_assert_ptr_nonnull(strstr(ws, "<v>0.3499</v>"));
		ck_assert_ptr_nonnull(strstr(ws, "<v>1222</v>"));
		free(ws);
		free(xlsx);
	}
	fixture_free(&f);
	unsetenv("MLAUDIT_GNUPLOT");
}
END_TEST

/* ---- plot images as palette PNGs ---- */

static void png_chunk(struct strbuf *sb, const char *type, const unsigned char *d, size_t n)
{
	unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
	sb_putn(sb, (const char *)len, 4);
	size_t at = sb->len;
	sb_putn(sb, type, 4);
	if (n)
		sb_putn(sb, (const char *)d, n);
	uLong crc = crc32(0L, (const Bytef *)sb->data + at, (uInt)(n + 4));
	unsigned char c[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16), (unsigned char)(crc >> 8), (unsigned char)crc};
	sb_putn(sb, (const char *)c, 4);
}

/* An 8-bit RGB PNG of w x h pixels (rgb, row-major), row y filtered with
 * type y % 5 so the reader must undo all five filters. */
static void png_rgb(struct strbuf *sb, const unsigned char *rgb, size_t w, size_t h)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	sb_putn(sb, (const char *)sig, 8);
	unsigned char ihdr[13] = {0, 0, (unsigned char)(w >> 8), (unsigned char)w, 0, 0, (unsigned char)(h >> 8), (unsigned char)h,
				  8, 2, 0, 0, 0};
	png_chunk(sb, "IHDR", ihdr, 13);
	size_t stride = 3 * w;
	unsigned char *raw = xmalloc(h * (stride + 1));
	for (size_t y = 0; y < h; y++) {
		unsigned ft = (unsigned)(y % 5);
		const unsigned char *cur = rgb + y * stride, *up = y ? cur - stride : NULL;
		raw[y * (stride + 1)] = (unsigned char)ft;
		for (size_t x = 0; x < stride; x++) {
			int a = x >= 3 ? cur[x - 3] : 0, b = up ? up[x] : 0, c = up && x >= 3 ? up[x - 3] : 0;
			int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
			int pred = ft == 0 ? 0 : ft == 1 ? a : ft == 2 ? b : ft == 3 ? (a + b) / 2
				 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
			raw[y * (stride + 1) + 1 + x] = (unsigned char)(cur[x] - pred);
		}
	}
	uLongf zn = compressBound((uLong)(h * (stride + 1)));
	unsigned char *z = xmalloc(zn);
	ck_assert_int_eq(compress2(z, &zn, raw, (uLong)(h * (stride + 1)), 9), Z_OK);
	png_chunk(sb, "IDAT", z, zn);
	png_chunk(sb, "IEND", NULL, 0);
	free(z);
	free(raw);
}

/* Decode a palette PNG as png_palettize writes it (filter 0 rows) to RGB. */
static unsigned char *png_decode_palette(const unsigned char *p, size_t len, size_t *w, size_t *h)
{
	ck_assert_uint_gt(len, 33);
	ck_assert_int_eq(p[25], 3);   /* colour type: palette */
	*w = (size_t)p[16] << 24 | (size_t)p[17] << 16 | (size_t)p[18] << 8 | p[19];
	*h = (size_t)p[20] << 24 | (size_t)p[21] << 16 | (size_t)p[22] << 8 | p[23];
	const unsigned char *plte = NULL, *idat = NULL;
	size_t nplte = 0, nidat = 0;
	for (size_t pos = 8; pos + 12 <= len;) {
		size_t n = (size_t)p[pos] << 24 | (size_t)p[pos + 1] << 16 | (size_t)p[pos + 2] << 8 | p[pos + 3];
		if (!memcmp(p + pos + 4, "PLTE", 4)) {
			plte = p + pos + 8;
			nplte = n / 3;
		} else if (!memcmp(p + pos + 4, "IDAT", 4)) {
			idat = p + pos + 8;
			nidat = n;
		}
		pos += 12 + n;
	}
	ck_assert(plte && idat && nplte >= 1 && nplte <= 256);
	uLongf rn = (uLongf)(*h * (*w + 1));
	unsigned char *raw = xmalloc(rn), *rgb = xmalloc(3 * *w * *h);
	ck_assert_int_eq(uncompress(raw, &rn, idat, (uLong)nidat), Z_OK);
	ck_assert_uint_eq(rn, *h * (*w + 1));
	for (size_t y = 0; y < *h; y++) {
		ck_assert_int_eq(raw[y * (*w + 1)], 0);
		for (size_t x = 0; x < *w; x++) {
			unsigned idx = raw[y * (*w + 1) + 1 + x];
			ck_assert_uint_lt(idx, nplte);
			memcpy(rgb + 3 * (y * *w + x), plte + 3 * idx, 3);
		}
	}
	free(raw);
	return rgb;
}

START_TEST(png_palettize_keeps_few_colours_exactly_and_leaves_others_alone)
{
	char *d = xstrdup("/tmp/mla-png-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d));
	char *path = path_join(d, "a.png");
	/* 10 colours in a pattern: lossless */
	size_t w = 120, h = 50;
	unsigned char *rgb = xmalloc(3 * w * h);
	static const unsigned char cols[10][3] = {{255, 255, 255}, {0, 0, 0}, {44, 111, 187}, {217, 95, 2}, {200, 200, 200},
						  {1, 2, 3}, {250, 10, 10}, {10, 250, 10}, {128, 128, 128}, {30, 63, 102}};
	for (size_t y = 0; y < h; y++)
		for (size_t x = 0; x < w; x++)
			memcpy(rgb + 3 * (y * w + x), cols[(x / 7 + 3 * (y / 5)) % 10], 3);
	struct strbuf sb;
	sb_init(&sb);
	png_rgb(&sb, rgb, w, h);
	ck_assert_int_eq(file_write_atomic(path, sb.data, sb.len), 0);
	ck_assert_int_eq(png_palettize(path), 0);
	size_t len, ow, oh;
	unsigned char *out = (unsigned char *)file_read_all(path, &len);
	ck_assert_uint_lt(len, sb.len);
	unsigned char *back = png_decode_palette(out, len, &ow, &oh);
	ck_assert_uint_eq(ow, w);
	ck_assert_uint_eq(oh, h);
	ck_assert_msg(!memcmp(back, rgb, 3 * w * h), "a 10-colour image changed");
	free(back);
	free(out);

	/* anti-aliasing: about 600 shades between white and a blue, as text
	 * edges make them; the 256 most frequent stay exact, the rest move to
	 * the nearest, which is never far */
	for (size_t y = 0; y < h; y++)
		for (size_t x = 0; x < w; x++) {
			unsigned char *p = rgb + 3 * (y * w + x);
			int common = (x + y) % 4 != 0;   /* three quarters of the pixels: white */
			double t = common ? 0 : (double)((x * 31 + y * 17) % 600) / 599;
			int g = (int)(255 - t * (255 - 111) + 0.5) - (int)(!common && x % 2);
			p[0] = (unsigned char)(int)(255 - t * (255 - 44) + 0.5);
			p[1] = (unsigned char)g;
			p[2] = (unsigned char)(int)(255 - t * (255 - 187) + 0.5);
		}
	sb.len = 0;
	png_rgb(&sb, rgb, w, h);
	ck_assert_int_eq(file_write_atomic(path, sb.data, sb.len), 0);
	ck_assert_int_eq(png_palettize(path), 0);
	out = (unsigned char *)file_read_all(path, &len);
	back = png_decode_palette(out, len, &ow, &oh);
	long worst = 0;
	for (size_t i = 0; i < w * h; i++) {
		long dd = 0;
		for (int c = 0; c < 3; c++) {
			long e = (long)back[3 * i + c] - (long)rgb[3 * i + c];
			dd += e * e;
		}
		if (rgb[3 * i] == 255 && rgb[3 * i + 1] == 255 && rgb[3 * i + 2] == 255)
			ck_assert_int_eq(dd, 0);   /* the most frequent colour is exact */
		if (dd > worst)
			worst = dd;
	}
	ck_assert_int_gt(worst, 0);              /* lossy: more than 256 colours */
	ck_assert_int_lt(worst, 3 * 8 * 8);      /* and no pixel moves far */
	free(back);
	free(out);

	/* not a PNG, a truncated one, an RGBA one: left as they are */
	const char *junk = "not a png at all";
	ck_assert_int_eq(file_write_atomic(path, junk, strlen(junk)), 0);
	ck_assert_int_eq(png_palettize(path), 0);
	char *same = file_read_all(path, &len);
	ck_assert_str_eq(same, junk);
	free(same);
	sb.len = 0;
	png_rgb(&sb, rgb, w, h);
	ck_assert_int_eq(file_write_atomic(path, sb.data, sb.len / 2), 0);
	ck_assert_int_eq(png_palettize(path), 0);
	same = file_read_all(path, &len);
	ck_assert_uint_eq(len, sb.len / 2);
	ck_assert(!memcmp(same, sb.data, len));
	free(same);
	sb.data[25] = 6;   /* RGBA in the header */
	ck_assert_int_eq(file_write_atomic(path, sb.data, sb.len), 0);
	ck_assert_int_eq(png_palettize(path), 0);
	same = file_read_all(path, &len);
	ck_assert_uint_eq(len, sb.len);
	free(same);

	sb_free(&sb);
	free(rgb);
	free(path);
	remove_tree(d);
	free(d);
}
END_TEST

Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("escape");
	tcase_add_test(tc, escape_md_makes_text_literal);
	tcase_add_test(tc, escape_html_and_base64);
	tcase_add_test(tc, escape_xlsx_cleans_controls_and_utf8);
	tcase_add_test(tc, escape_gnuplot_field_is_one_safe_field);
	tcase_add_test(tc, template_substitutes_once_and_rejects_unknown);
	tcase_add_test(tc, png_palettize_keeps_few_colours_exactly_and_leaves_others_alone);
	suite_add_tcase(s, tc);
	tc = tcase_create("stage");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, html_is_escaped_and_self_contained);
	tcase_add_test(tc, undefined_metric_is_na_never_zero);
	tcase_add_test(tc, summary_json_matches_schema_and_verdict);
	tcase_add_test(tc, verdict_follows_fail_on);
	tcase_add_test(tc, summary_md_is_short);
	tcase_add_test(tc, xlsx_keeps_data_as_strings_and_is_deterministic);
	tcase_add_test(tc, gnuplot_sees_data_only_through_files);
	tcase_add_test(tc, missing_or_hanging_gnuplot_is_not_fatal);
	tcase_add_test(tc, bad_artifact_is_internal_error);
	tcase_add_test(tc, rootcause_sections_escape_a_hostile_feature);
	tcase_add_test(tc, rootcause_sheets_have_their_headers_and_keep_text_as_text);
	tcase_add_test(tc, rootcause_plot_data_escape_a_hostile_feature);
	tcase_add_test(tc, sections_say_their_analysis_did_not_run);
	tcase_add_test(tc, lr_plot_is_clipped_when_the_loss_diverges);
	tcase_add_test(tc, training_checks_print_each_checks_own_advice);
	suite_add_tcase(s, tc);
	return s;
}
