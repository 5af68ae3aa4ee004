/* util.c - errors, allocation, strings, files, hashing, time, random numbers. */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- errors ---- */

static char err_msg[2048];
static int err_status;

int mla_fail(int status, const char *fmt, ...)
{
	if (err_msg[0])  /* the first (innermost) message is the precise one */
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof err_msg, fmt, ap);
	va_end(ap);
	err_status = status;
	return -1;
}

const char *mla_error_message(void) { return err_msg; }

int mla_error_status(void)
{
	if (!err_msg[0])
		return MLA_OK;
	return err_status ? err_status : MLA_EINTERNAL;
}

void mla_error_clear(void)
{
	err_msg[0] = 0;
	err_status = 0;
}

/* ---- allocation ---- */

static void out_of_memory(size_t n)
{
	fprintf(stderr, "mlaudit: out of memory (%zu bytes)\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* ---- strbuf ---- */

void sb_init(struct strbuf *sb)
{
	sb->cap = 64;
	sb->len = 0;
	sb->data = xmalloc(sb->cap);
	sb->data[0] = 0;
}

void sb_free(struct strbuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

static void sb_grow(struct strbuf *sb, size_t extra)
{
	if (!sb->data)
		sb_init(sb);
	if (sb->len + extra + 1 <= sb->cap)
		return;
	while (sb->len + extra + 1 > sb->cap)
		sb->cap *= 2;
	sb->data = xrealloc(sb->data, sb->cap);
}

void sb_putn(struct strbuf *sb, const char *s, size_t n)
{
	sb_grow(sb, n);
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = 0;
}

void sb_puts(struct strbuf *sb, const char *s) { sb_putn(sb, s, strlen(s)); }
void sb_putc(struct strbuf *sb, char c) { sb_putn(sb, &c, 1); }

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sb_grow(sb, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

char *sb_detach(struct strbuf *sb)
{
	if (!sb->data)
		sb_init(sb);
	char *s = sb->data;
	sb->data = NULL;
	sb->len = sb->cap = 0;
	return s;
}

/* ---- files ---- */

char *file_read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		ERR_INPUT("%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct strbuf sb;
	sb_init(&sb);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sb_putn(&sb, buf, n);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		sb_free(&sb);
		ERR_INPUT("%s: read error", path);
		return NULL;
	}
	if (len)
		*len = sb.len;
	return sb_detach(&sb);
}

int file_write_atomic(const char *path, const void *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "wb");
	if (!f) {
		ERR_INTERNAL("%s: cannot create: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	size_t w = fwrite(data, 1, len, f);
	/* fclose reports a failed final flush (disk full), so check both */
	if (fclose(f) != 0 || w != len) {
		ERR_INTERNAL("%s: write failed: %s", tmp, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		ERR_INTERNAL("%s: cannot rename into place: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			ERR_INTERNAL("%s: cannot create folder: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	if (mkdir(p, 0777) != 0 && errno != EEXIST) {
		ERR_INTERNAL("%s: cannot create folder: %s", p, strerror(errno));
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

int remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : ERR_INTERNAL("%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (!d)
			return ERR_INTERNAL("%s: cannot open folder: %s", path, strerror(errno));
		struct dirent *e;
		int rc = 0;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char *sub = path_join(path, e->d_name);
			if (remove_tree(sub) != 0)
				rc = -1;
			free(sub);
		}
		closedir(d);
		if (rc == 0 && rmdir(path) != 0)
			rc = ERR_INTERNAL("%s: cannot remove: %s", path, strerror(errno));
		return rc;
	}
	if (unlink(path) != 0)
		return ERR_INTERNAL("%s: cannot remove: %s", path, strerror(errno));
	return 0;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	if (la && a[la - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

char *path_stem(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char *s = xstrdup(base);
	static const char *const exts[] = {".gz", ".csv", ".tsv", ".txt", ".ini", NULL};
	for (int again = 1; again;) {
		again = 0;
		size_t n = strlen(s);
		for (const char *const *e = exts; *e; e++) {
			size_t m = strlen(*e);
			if (n > m && !strcmp(s + n - m, *e)) {
				s[n - m] = 0;
				again = 1;
				break;
			}
		}
	}
	return s;
}

int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

#ifndef MLA_SOURCE_DIR
#define MLA_SOURCE_DIR "."
#endif

const char *mla_home(void)
{
	const char *h = getenv("MLAUDIT_HOME");
	return h && *h ? h : MLA_SOURCE_DIR;
}

/* ---- hashing ----
 * A word-at-a-time multiply-xorshift hash (in the spirit of wyhash/murmur's
 * finaliser): several GB/s, so hashing tens of GB of input stays cheap next to
 * parsing it. */

#define H_K1 0x9E3779B97F4A7C15ull
#define H_K2 0xC2B2AE3D27D4EB4Full

static inline uint64_t h_mix(uint64_t h, uint64_t w)
{
	h ^= w * H_K2;
	h = (h << 31) | (h >> 33);
	return h * H_K1;
}

static inline uint64_t h_final(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xFF51AFD7ED558CCDull;
	h ^= h >> 33;
	h *= 0xC4CEB9FE1A85EC53ull;
	h ^= h >> 33;
	return h;
}

void hash64_init(struct hash64 *s)
{
	s->h = 0x6A09E667F3BCC908ull;
	s->total = 0;
	s->ntail = 0;
}

void hash64_update(struct hash64 *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	s->total += len;
	while (s->ntail && len) {
		s->tail[s->ntail++] = *p++;
		len--;
		if (s->ntail == 8) {
			uint64_t w;
			memcpy(&w, s->tail, 8);
			s->h = h_mix(s->h, w);
			s->ntail = 0;
		}
	}
	uint64_t h = s->h;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = h_mix(h, w);
	}
	s->h = h;
	len &= 7;   /* always < 8 here; the mask lets the compiler see it */
	memcpy(s->tail, p, len);
	s->ntail = len;
}

uint64_t hash64_final(struct hash64 *s)
{
	uint64_t w = 0;
	memcpy(&w, s->tail, s->ntail);
	uint64_t h = h_mix(s->h, w ^ ((uint64_t)s->ntail << 56));
	return h_final(h ^ s->total);
}

uint64_t hash64_bytes(const void *data, size_t len)
{
	struct hash64 s;
	hash64_init(&s);
	hash64_update(&s, data, len);
	return hash64_final(&s);
}

int hash64_file(const char *path, uint64_t *out)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return ERR_INPUT("%s: cannot open: %s", path, strerror(errno));
	struct hash64 s;
	hash64_init(&s);
	size_t cap = 1 << 20;
	char *buf = xmalloc(cap);
	ssize_t n;
	while ((n = read(fd, buf, cap)) > 0)
		hash64_update(&s, buf, (size_t)n);
	int e = errno;
	close(fd);
	free(buf);
	if (n < 0)
		return ERR_INPUT("%s: read error: %s", path, strerror(e));
	*out = hash64_final(&s);
	return 0;
}

/* ---- time ---- */

double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void utc_iso8601(char *buf, size_t size, long long epoch)
{
	time_t t = (time_t)epoch;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- random numbers ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double rng_uniform(struct rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

double rng_normal(struct rng *r)
{
	/* Box-Muller; one value per call keeps the stream simple and reproducible */
	double u1 = rng_uniform(r), u2 = rng_uniform(r);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	if (n == 0)
		return 0;
	/* Lemire's nearly-divisionless method would be faster; plain rejection is clearer */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do
		x = rng_next(r);
	while (x >= limit);
	return x % n;
}
