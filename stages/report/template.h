/* template.h - the report's fixed text lives in templates/; generated parts
 * are substituted for {{name}} placeholders.
 *
 * Substitution is one left-to-right pass over the template: a substituted value
 * is copied verbatim and never scanned again, so data that happens to contain
 * "{{x}}" stays text. A placeholder the caller did not supply is an internal
 * error (a template and the code disagree), named by file, line and column. */
#ifndef MLA_TEMPLATE_H
#define MLA_TEMPLATE_H

#include <stddef.h>
#include "../../pipeline/util.h"

struct tmpl_var {
	const char *name;    /* placeholder name, without braces */
	const char *value;   /* text substituted verbatim */
};

/** Path of templates/NAME: in $MLAUDIT_TEMPLATES when set, else in
 * mla_home()/templates. Caller frees. */
char *tmpl_path(const char *name);

/** Read templates/NAME. NULL with an internal error recorded (a missing
 * template is a broken installation, not bad input). Caller frees. */
char *tmpl_load(const char *name);

/** Append `text` (the template called `name`, for messages) to `out` with every
 * {{var}} replaced by its value. Returns 0, or -1 with an internal error
 * recorded for an unknown or unterminated placeholder; `out` then holds a
 * partial result the caller discards. */
int tmpl_render(const char *name, const char *text, const struct tmpl_var *vars, size_t nvars,
		struct strbuf *out);

#endif
