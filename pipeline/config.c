/* config.c - the key table, the INI reader and validation.
 *
 * The INI format is small enough that a hand-written reader (60 lines) beats a
 * library here: it reports the exact line and column of every problem, and
 * has no surprising defaults (multi-line values, inline comment rules) that a
 * nightly job's author would have to learn. */
#include "config.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *severity_name(enum severity s)
{
	static const char *const names[] = {"info", "low", "medium", "high"};
	return (unsigned)s < 4 ? names[s] : "?";
}

int severity_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, severity_name((enum severity)i)))
			return i;
	return -1;
}

void strlist_add(struct strlist *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = xstrdup(s);
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int strlist_contains(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return 1;
	return 0;
}

/* The one list of keys. Order is the order of --help and the README. */
const struct config_key config_keys[] = {
	{"train", "FILE", "training data (CSV/TSV, optionally gzip) - required"},
	{"test", "FILE", "test data; default: a stratified hold-out of train (test_size)"},
	{"current", "FILE", "newer data; repeat the flag or separate files by commas"},
	{"label", "COL", "the label column - required"},
	{"positive", "VALUE", "positive class of a binary label (default: 1/true/yes, else last in sorted order)"},
	{"id", "COL", "row id column (default: row number)"},
	{"pred", "COL", "the audited model's predicted class"},
	{"proba", "COL", "the audited model's probability of the positive class (binary)"},
	{"proba_prefix", "P", "one probability column per class, named P<class>"},
	{"segments", "A,B", "columns whose values are segments to evaluate separately"},
	{"time", "COL", "time column (reported; time windows are not built yet)"},
	{"weight", "COL", "row weight column (read; not yet used by the metrics)"},
	{"ignore", "A,B", "columns to leave out"},
	{"numeric", "A,B", "declare these columns numeric"},
	{"categorical", "A,B", "declare these columns categorical"},
	{"na", "A,B", "missing markers (default: empty,NA,N/A,NaN,null,None)"},
	{"delimiter", "C", "field delimiter: comma, tab, semicolon or one character (default by extension)"},
	{"metric", "NAME", "accuracy|f1|recall|precision|roc_auc|pr_auc|log_loss (default accuracy)"},
	{"fail_on", "SEVERITY", "info|low|medium|high: exit 1 when a finding reaches it (default high)"},
	{"max_bad_numeric", "SHARE", "share of non-numeric cells a numeric column tolerates (default 0.01)"},
	{"test_size", "SHARE", "hold-out share when no test file is given (default 0.25)"},
	{"seed", "N", "seed for hold-out, bootstraps and probes (default 1)"},
	{"name", "NAME", "model name used in titles (default: config or train file name)"},
	{"out", "DIR", "output folder (default reports/<name>)"},
	{"keep", "N", "run folders to keep in the output folder; older ones are removed after a good run (default 60)"},
	{"log", "FILE", "also append the progress lines (timestamped) to FILE"},
	{"backend", "auto|cpu|cuda", "probe backend (default auto)"},
	{"probes", "quick|standard|thorough", "work the reference probes may do: rows trained on (20k, 100k, all) and widths (default standard)"},
	{"force", NULL, "rerun every stage even when its inputs are unchanged"},
	{"quiet", NULL, "print only errors"},
	{"verbose", NULL, "print more detail"},
};
const size_t config_nkeys = sizeof config_keys / sizeof config_keys[0];

int config_is_switch(const char *key)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (!strcmp(config_keys[i].key, key))
			return config_keys[i].arg == NULL;
	return 0;
}

void config_init(struct audit_config *c)
{
	memset(c, 0, sizeof *c);
	static const char *const na[] = {"", "NA", "N/A", "NaN", "null", "None"};
	for (size_t i = 0; i < sizeof na / sizeof na[0]; i++)
		strlist_add(&c->na, na[i]);
	c->metric = xstrdup("accuracy");
	c->fail_on = SEV_HIGH;
	c->max_bad_numeric = 0.01;
	c->test_size = 0.25;
	c->seed = 1;
	c->backend = xstrdup("auto");
	c->probes = xstrdup("standard");
	c->keep = 60;
}

void config_free(struct audit_config *c)
{
	char **strs[] = {&c->config_path, &c->name, &c->train, &c->test, &c->label, &c->positive,
			 &c->id, &c->pred, &c->proba, &c->proba_prefix, &c->time, &c->weight,
			 &c->metric, &c->out, &c->backend, &c->log, &c->probes};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	struct strlist *lists[] = {&c->current, &c->na, &c->segments, &c->ignore, &c->numeric, &c->categorical};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
		strlist_free(lists[i]);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

/* Split "a, b ,c" into the list (appending). An empty item is kept only for
 * `na`, where the empty string is a legitimate marker. */
static void split_list(struct strlist *l, const char *value, int keep_empty)
{
	char *copy = xstrdup(value);
	char *p = copy;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = 0;
		char *item = trim(p);
		if (*item || keep_empty)
			strlist_add(l, item);
		if (!comma)
			break;
		p = comma + 1;
	}
	free(copy);
}

static int set_string(char **dst, const char *value)
{
	free(*dst);
	*dst = xstrdup(value);
	return 0;
}

static int parse_share(double *dst, const char *key, const char *value, const char *where, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	if (errno || end == value || *end || !(v >= lo && v <= hi))
		return ERR_INPUT("%s: %s must be a number in [%g, %g], got '%s'", where, key, lo, hi, value);
	*dst = v;
	return 0;
}

int config_set(struct audit_config *c, const char *key, const char *value, const char *where)
{
	struct { const char *key; char **dst; } strings[] = {
		{"train", &c->train}, {"test", &c->test}, {"label", &c->label},
		{"positive", &c->positive}, {"id", &c->id}, {"pred", &c->pred},
		{"proba", &c->proba}, {"proba_prefix", &c->proba_prefix}, {"time", &c->time},
		{"weight", &c->weight}, {"name", &c->name}, {"out", &c->out}, {"log", &c->log},
	};
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
		if (!strcmp(key, strings[i].key)) {
			if (!*value && strcmp(key, "positive"))
				return ERR_INPUT("%s: %s needs a value", where, key);
			return set_string(strings[i].dst, value);
		}
	struct { const char *key; struct strlist *dst; } lists[] = {
		{"current", &c->current}, {"segments", &c->segments}, {"ignore", &c->ignore},
		{"numeric", &c->numeric}, {"categorical", &c->categorical},
	};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
		if (!strcmp(key, lists[i].key)) {
			split_list(lists[i].dst, value, 0);
			return 0;
		}
	if (!strcmp(key, "na")) {
		strlist_free(&c->na);  /* the key replaces the default list */
		split_list(&c->na, value, 1);
		return 0;
	}
	if (!strcmp(key, "delimiter")) {
		if (!strcmp(value, "comma") || !strcmp(value, ","))
			c->delimiter = ',';
		else if (!strcmp(value, "tab") || !strcmp(value, "\\t"))
			c->delimiter = '\t';
		else if (!strcmp(value, "semicolon") || !strcmp(value, ";"))
			c->delimiter = ';';
		else if (strlen(value) == 1 && value[0] != '"' && value[0] != '\n')
			c->delimiter = value[0];
		else
			return ERR_INPUT("%s: delimiter must be comma, tab, semicolon or one character, got '%s'", where, value);
		return 0;
	}
	if (!strcmp(key, "metric")) {
		static const char *const metrics[] = {"accuracy", "f1", "recall", "precision", "roc_auc", "pr_auc", "log_loss", "balanced_accuracy", NULL};
		for (const char *const *m = metrics; *m; m++)
			if (!strcmp(*m, value))
				return set_string(&c->metric, value);
		return ERR_INPUT("%s: metric must be one of accuracy, f1, recall, precision, roc_auc, pr_auc, log_loss, balanced_accuracy; got '%s'", where, value);
	}
	if (!strcmp(key, "fail_on")) {
		int s = severity_parse(value);
		if (s < 0)
			return ERR_INPUT("%s: fail_on must be info, low, medium or high; got '%s'", where, value);
		c->fail_on = (enum severity)s;
		return 0;
	}
	if (!strcmp(key, "backend")) {
		if (strcmp(value, "auto") && strcmp(value, "cpu") && strcmp(value, "cuda"))
			return ERR_INPUT("%s: backend must be auto, cpu or cuda; got '%s'", where, value);
		return set_string(&c->backend, value);
	}
	if (!strcmp(key, "probes")) {
		if (strcmp(value, "quick") && strcmp(value, "standard") && strcmp(value, "thorough"))
			return ERR_INPUT("%s: probes must be quick, standard or thorough; got '%s'", where, value);
		return set_string(&c->probes, value);
	}
	if (!strcmp(key, "max_bad_numeric"))
		return parse_share(&c->max_bad_numeric, key, value, where, 0, 1);
	if (!strcmp(key, "test_size"))
		return parse_share(&c->test_size, key, value, where, 0.05, 0.9);
	if (!strcmp(key, "keep")) {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < 1 || v > 100000)
			return ERR_INPUT("%s: keep must be a whole number of runs, at least 1; got '%s'", where, value);
		c->keep = (int)v;
		return 0;
	}
	if (!strcmp(key, "seed")) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(value, &end, 10);
		if (errno || end == value || *end || value[0] == '-')
			return ERR_INPUT("%s: seed must be a non-negative integer, got '%s'", where, value);
		c->seed = v;
		return 0;
	}
	int *flags[] = {&c->force, &c->quiet, &c->verbose};
	const char *flag_names[] = {"force", "quiet", "verbose"};
	for (size_t i = 0; i < 3; i++)
		if (!strcmp(key, flag_names[i])) {
			if (!*value || !strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1"))
				*flags[i] = 1;
			else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0"))
				*flags[i] = 0;
			else
				return ERR_INPUT("%s: %s must be true or false, got '%s'", where, key, value);
			return 0;
		}
	return ERR_INPUT("%s: unknown key '%s' (see mlaudit --help for the keys)", where, key);
}

/* Relative data paths in an INI file are relative to the file's folder, so a
 * config can travel with its data. */
static void resolve_relative(char **path, const char *ini_path)
{
	if (!*path || (*path)[0] == '/')
		return;
	const char *slash = strrchr(ini_path, '/');
	if (!slash)
		return;
	char *dir = xstrndup(ini_path, (size_t)(slash - ini_path));
	char *joined = path_join(dir, *path);
	free(dir);
	free(*path);
	*path = joined;
}

int config_load_ini(struct audit_config *c, const char *path)
{
	size_t len;
	char *text = file_read_all(path, &len);
	if (!text)
		return -1;
	if (memchr(text, 0, len)) {
		free(text);
		return ERR_INPUT("%s: NUL byte in config file", path);
	}
	char *ini_dir_ref = xstrdup(path);
	int rc = 0;
	unsigned lineno = 0;
	char *line = text;
	/* remember which paths were given in this file, to resolve them against its folder */
	size_t ncur_before = c->current.n;
	char *train_before = c->train, *test_before = c->test;
	while (line && rc == 0) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		char *s = trim(line);
		if (lineno == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
			s = trim(s + 3);
		if (!*s || *s == '#' || *s == ';') {
			line = next;
			continue;
		}
		size_t col = (size_t)(s - line) + 1;
		if (*s == '[') {
			char *end = strchr(s, ']');
			if (!end || trim(end + 1)[0])
				rc = ERR_INPUT("%s:%u:%zu: malformed section header", path, lineno, col);
			else if (strncmp(s, "[audit]", 7))
				rc = ERR_INPUT("%s:%u:%zu: unknown section '%.*s' (only [audit])", path, lineno, col, (int)(end - s + 1), s);
			line = next;
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = ERR_INPUT("%s:%u:%zu: expected 'key = value'", path, lineno, col);
			break;
		}
		*eq = 0;
		char *key = trim(s), *value = trim(eq + 1);
		/* a quoted value keeps its spaces and may hold '#' */
		size_t vl = strlen(value);
		if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
			value[vl - 1] = 0;
			value++;
		}
		char *where = xasprintf("%s:%u:%zu", path, lineno, col);
		rc = config_set(c, key, value, where);
		free(where);
		line = next;
	}
	free(text);
	if (rc == 0) {
		if (c->train != train_before)
			resolve_relative(&c->train, path);
		if (c->test != test_before)
			resolve_relative(&c->test, path);
		for (size_t i = ncur_before; i < c->current.n; i++)
			resolve_relative(&c->current.v[i], path);
		free(c->config_path);
		c->config_path = ini_dir_ref;
	} else {
		free(ini_dir_ref);
	}
	return rc;
}

int config_validate(struct audit_config *c)
{
	const char *where = c->config_path ? c->config_path : "command line";
	if (!c->train)
		return ERR_INPUT("%s: 'train' is required (the training data file)", where);
	if (!c->label)
		return ERR_INPUT("%s: 'label' is required (the label column)", where);
	if (c->proba && c->proba_prefix)
		return ERR_INPUT("%s: give 'proba' (binary) or 'proba_prefix' (one column per class), not both", where);
	if (!c->name) {
		c->name = path_stem(c->config_path ? c->config_path : c->train);
		if (!strcmp(c->name, "audit") && c->config_path) {
			/* audit.ini says nothing; the folder it lives in names the model */
			char *dir = xstrdup(c->config_path);
			char *slash = strrchr(dir, '/');
			if (slash) {
				*slash = 0;
				free(c->name);
				c->name = path_stem(dir);
			}
			free(dir);
		}
	}
	if (!c->out)
		c->out = xasprintf("reports/%s", c->name);
	return 0;
}
