/* util.h - errors, allocation, small string and file helpers shared by every module.
 *
 * Errors: library and stage code never exits. A failing function records one
 * message with mla_fail() (which also records the exit status the run should end
 * with) and returns -1 (or NULL). Only main() turns the recorded error into an
 * exit status. */
#ifndef MLA_UTIL_H
#define MLA_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses, as DESIGN.md lists them for cron and CI. */
enum mla_status {
	MLA_OK = 0,          /* no finding at or above fail_on */
	MLA_FINDINGS = 1,    /* findings at or above fail_on */
	MLA_EINPUT = 2,      /* usage, config or input error; nothing published */
	MLA_EINTERNAL = 3,   /* a bug or an environment failure (disk full, ...) */
	MLA_ELOCKED = 75     /* another run holds the output folder's lock (EX_TEMPFAIL) */
};

/** Record an error message (printf format) and the exit status it implies.
 * Returns -1 so callers can write `return mla_fail(...)`. The first error of a
 * chain wins unless mla_error_clear() is called in between. */
int mla_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define ERR_INPUT(...) mla_fail(MLA_EINPUT, __VA_ARGS__)
#define ERR_INTERNAL(...) mla_fail(MLA_EINTERNAL, __VA_ARGS__)

/** The recorded message ("" when none); owned by the module. */
const char *mla_error_message(void);
/** The recorded status (MLA_EINTERNAL when a message exists without one, MLA_OK when none). */
int mla_error_status(void);
void mla_error_clear(void);

/* Allocation that aborts the process on exhaustion: there is nothing sensible
 * a batch audit can do without memory, and checking every small allocation
 * would bury the logic. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/** printf into a new string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer; `data` is always NUL-terminated. */
struct strbuf {
	char *data;
	size_t len, cap;
};
void sb_init(struct strbuf *sb);
void sb_free(struct strbuf *sb);
void sb_putn(struct strbuf *sb, const char *s, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_putc(struct strbuf *sb, char c);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Hand the buffer over to the caller (who frees it) and reset sb. */
char *sb_detach(struct strbuf *sb);

/* Files */
/** Read a whole (small) file; returns NULL and records an input error. Caller frees. */
char *file_read_all(const char *path, size_t *len);
/** Write a file atomically: write PATH.tmp.<pid>, fsync-free flush, rename. */
int file_write_atomic(const char *path, const void *data, size_t len);
/** mkdir -p; 0 or -1 (internal error recorded). */
int mkdir_p(const char *path);
/** rm -rf; 0 or -1. */
int remove_tree(const char *path);
/** Join two path parts with one '/'; caller frees. */
char *path_join(const char *a, const char *b);
/** Basename without directory and without the extensions .csv .tsv .gz .txt; caller frees. */
char *path_stem(const char *path);
int file_exists(const char *path);
/** The folder holding templates/ and fixtures/: $MLAUDIT_HOME, else the source
 * tree the binary was built from. */
const char *mla_home(void);

/* Hashing: a fast 64-bit content hash (not cryptographic: it detects changed
 * inputs between runs, nobody is attacking it). Streamable. */
struct hash64 {
	uint64_t h, total;
	unsigned char tail[8];
	size_t ntail;
};
void hash64_init(struct hash64 *s);
void hash64_update(struct hash64 *s, const void *data, size_t len);
uint64_t hash64_final(struct hash64 *s);
uint64_t hash64_bytes(const void *data, size_t len);
/** Hash a file's contents; 0 on success with *out set, -1 with an input error. */
int hash64_file(const char *path, uint64_t *out);

/* Time */
double now_seconds(void);           /* monotonic */
/** UTC timestamp "2026-11-27T02:00:00Z" into buf (>= 21 bytes). */
void utc_iso8601(char *buf, size_t size, long long epoch);

/* Deterministic random numbers (xoshiro256**, seeded with splitmix64), so that
 * the same seed gives the same bytes on every machine. */
struct rng { uint64_t s[4]; };
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
double rng_uniform(struct rng *r);     /* [0, 1) */
double rng_normal(struct rng *r);      /* standard normal */
uint64_t rng_below(struct rng *r, uint64_t n);

#endif
