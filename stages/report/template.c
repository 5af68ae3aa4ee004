/* template.c - loading templates and substituting {{name}} placeholders. */
#include "template.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *tmpl_path(const char *name)
{
	/* $MLAUDIT_TEMPLATES lets a test or a packager point at another copy
	 * without moving the rest of MLAUDIT_HOME. */
	const char *dir = getenv("MLAUDIT_TEMPLATES");
	if (dir && *dir)
		return path_join(dir, name);
	char *base = path_join(mla_home(), "templates");
	char *p = path_join(base, name);
	free(base);
	return p;
}

char *tmpl_load(const char *name)
{
	char *path = tmpl_path(name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		ERR_INTERNAL("%s: cannot open template: %s (set MLAUDIT_HOME to the folder holding templates/)",
			     path, strerror(errno));
		free(path);
		return NULL;
	}
	struct strbuf sb;
	sb_init(&sb);
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sb_putn(&sb, buf, n);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		ERR_INTERNAL("%s: read error", path);
		free(path);
		sb_free(&sb);
		return NULL;
	}
	free(path);
	return sb_detach(&sb);
}

/* Line and column (1-based) of position `at` in text, for messages. */
static void where(const char *text, const char *at, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = text; p < at; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

int tmpl_render(const char *name, const char *text, const struct tmpl_var *vars, size_t nvars,
		struct strbuf *out)
{
	const char *p = text;
	for (;;) {
		const char *open = strstr(p, "{{");
		if (!open) {
			sb_puts(out, p);
			return 0;
		}
		sb_putn(out, p, (size_t)(open - p));
		const char *close = strstr(open + 2, "}}");
		size_t line, col;
		if (!close || memchr(open + 2, '\n', (size_t)(close - open - 2))) {
			where(text, open, &line, &col);
			return ERR_INTERNAL("templates/%s:%zu:%zu: unterminated placeholder", name, line, col);
		}
		size_t len = (size_t)(close - open - 2);
		const struct tmpl_var *v = NULL;
		for (size_t i = 0; i < nvars; i++)
			if (strlen(vars[i].name) == len && memcmp(vars[i].name, open + 2, len) == 0) {
				v = &vars[i];
				break;
			}
		if (!v) {
			where(text, open, &line, &col);
			return ERR_INTERNAL("templates/%s:%zu:%zu: unknown placeholder {{%.*s}}", name, line,
					    col, (int)len, open + 2);
		}
		sb_puts(out, v->value ? v->value : "");
		p = close + 2;
	}
}
