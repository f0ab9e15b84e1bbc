/*
 * lang.c - language detection over libexttextcat (n-gram profiles, Cavnar
 * and Trenkle).
 *
 * The library only loads models listed in a config file, so lang_open
 * writes a private one naming the candidates alone, loads it and removes
 * it at once.
 *
 * Answers: textcat_ClassifyFull scores every model and reports those within
 * 3% of the best (sorted, best first); more than 5 of them is "UNKNOWN",
 * too little text "SHORT". Only a single report is taken as an answer: two
 * or more mean the text sits between languages by the library's own
 * measure, and a wrong language is worse for routing than none.
 *
 * Cost: each call builds a fingerprint of the text (a fresh 64 KiB hash
 * table inside the library, then a merge against every model), hence the
 * small LANG_MAX_SCAN. The library does not check its own allocations;
 * ours are checked.
 */
#include "router/rules/lang.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <textcat.h>

#include "core/err.h"

#define LANG_MODEL_DIR "/usr/share/libexttextcat"
#define LANG_PATH_MAX 4096

struct lang {
	void *tc;           /* textcat handle; NULL when no candidates */
	candidate_t *cand;  /* the library's result array, one per model */
	/* The library reads its input up to a NUL, whatever the size passed,
	 * so every text is copied here with one. */
	char buf[LANG_MAX_SCAN + 1];
};

static void lang_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void lang_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Model names are letters, digits and '-' ("en", "zh-Hans", "sr-Latn"):
 * this also keeps paths and the config file free of '/', spaces and '#'. */
static int lang_code_valid(const char *code)
{
	size_t i, n = code ? strlen(code) : 0;

	if (n == 0 || n > LANG_CODE_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = code[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return 0;
	}
	return 1;
}

/* Each code: well-formed, not repeated (twins tie on every text, so neither
 * would ever be answered), with a readable model file. */
static int lang_check_codes(const char *const *codes, size_t n, const char *dir, char *err,
			    size_t errlen)
{
	char path[LANG_PATH_MAX];
	struct stat st;
	size_t i, j;
	int len;

	for (i = 0; i < n; i++) {
		if (!lang_code_valid(codes[i])) {
			lang_err(err, errlen, "invalid language code \"%s\"", codes[i] ? codes[i] : "");
			return GW_EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(codes[i], codes[j]) == 0) {
				lang_err(err, errlen, "language \"%s\" listed twice", codes[i]);
				return GW_EINVAL;
			}
		}
		len = snprintf(path, sizeof(path), "%s/%s.lm", dir, codes[i]);
		if (len < 0 || (size_t)len >= sizeof(path)) {
			lang_err(err, errlen, "language model folder path too long: %s", dir);
			return GW_EINVAL;
		}
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, R_OK) != 0) {
			lang_err(err, errlen, "unknown language \"%s\" (no readable model)", codes[i]);
			return GW_EINVAL;
		}
	}
	return GW_OK;
}

static const char *lang_tmpdir(void)
{
	const char *tmp = getenv("TMPDIR");

	return (tmp && tmp[0]) ? tmp : "/tmp";
}

/* Writes the private config ("en.lm en" per line) into a new temporary
 * file whose name goes into `path`. GW_OK or GW_EIO (file removed). */
static int lang_write_conf(const char *const *codes, size_t n, char *path, size_t pathlen)
{
	FILE *f = NULL;
	size_t i;
	int fd, len, rc = GW_EIO;

	len = snprintf(path, pathlen, "%s/gw-lang-XXXXXX", lang_tmpdir());
	if (len < 0 || (size_t)len >= pathlen)
		return GW_EIO;
	fd = mkstemp(path);
	if (fd < 0)
		return GW_EIO;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (fprintf(f, "%s.lm %s\n", codes[i], codes[i]) < 0)
			goto out;
	rc = GW_OK;
out:
	if (f && fclose(f) != 0)
		rc = GW_EIO;
	if (rc != GW_OK)
		unlink(path);
	return rc;
}

/* Loads the models of `codes` from `dir` into l->tc and l->cand. */
static int lang_load(struct lang *l, const char *const *codes, size_t n, const char *dir,
		     char *err, size_t errlen)
{
	char conf[LANG_PATH_MAX], prefix[LANG_PATH_MAX];
	int len, rc;

	len = snprintf(prefix, sizeof(prefix), "%s/", dir); /* the library only concatenates */
	if (len < 0 || (size_t)len >= sizeof(prefix))
		return GW_EINVAL; /* unreachable: lang_check_codes built longer paths */
	rc = lang_write_conf(codes, n, conf, sizeof(conf));
	if (rc != GW_OK) {
		lang_err(err, errlen, "cannot write a temporary file in %s", lang_tmpdir());
		return rc;
	}
	l->tc = special_textcat_Init(conf, prefix);
	unlink(conf);
	if (!l->tc) {
		lang_err(err, errlen, "cannot load the language models in %s", dir);
		return GW_EINVAL;
	}
	textcat_SetProperty(l->tc, TCPROP_UTF8AWARE, TC_TRUE);
	l->cand = textcat_GetClassifyFullOutput(l->tc);
	return l->cand ? GW_OK : GW_ENOMEM;
}

int lang_open(const char *const *codes, size_t n, const char *model_dir, struct lang **out,
	      char *err, size_t errlen)
{
	const char *dir = model_dir ? model_dir : LANG_MODEL_DIR;
	struct lang *l = NULL;
	int rc;

	if (err && errlen > 0)
		err[0] = '\0';
	if (!out || (n > 0 && !codes)) {
		lang_err(err, errlen, "%s", "invalid arguments");
		return GW_EINVAL;
	}
	*out = NULL;
	rc = lang_check_codes(codes, n, dir, err, errlen);
	if (rc != GW_OK)
		goto out;
	l = calloc(1, sizeof(*l));
	if (!l) {
		rc = GW_ENOMEM;
		goto out;
	}
	if (n > 0 && (rc = lang_load(l, codes, n, dir, err, errlen)) != GW_OK)
		goto out;
	*out = l;
	l = NULL;
out:
	lang_close(l);
	return rc;
}

void lang_close(struct lang *l)
{
	if (!l)
		return;
	if (l->cand)
		textcat_ReleaseClassifyFullOutput(l->tc, l->cand);
	if (l->tc)
		textcat_Done(l->tc);
	free(l);
}

/* How many of the first `len` bytes to read: at most LANG_MAX_SCAN, cut
 * before a UTF-8 sequence the limit would split (a torn character would
 * make a junk n-gram). At most 3 continuation bytes are skipped back, so
 * non-UTF-8 input still gets scanned. */
static size_t lang_scan_len(const char *text, size_t len)
{
	size_t n = len < LANG_MAX_SCAN ? len : LANG_MAX_SCAN, back = 0;

	if (n == len)
		return n;
	while (back < 3 && n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) {
		n--;
		back++;
	}
	return n;
}

/* Copies the scanned bytes into l->buf (a NUL inside becomes a space, or
 * the library would stop there) and returns the length without the
 * surrounding white space. */
static size_t lang_prepare(struct lang *l, const char *text, size_t len)
{
	size_t n = lang_scan_len(text, len), i, start = 0, end;

	for (i = 0; i < n; i++)
		l->buf[i] = text[i] ? text[i] : ' ';
	l->buf[n] = '\0';
	while (start < n && strchr(" \t\r\n\v\f", l->buf[start]))
		start++;
	end = n;
	while (end > start && strchr(" \t\r\n\v\f", l->buf[end - 1]))
		end--;
	return end - start;
}

int lang_detect(struct lang *l, const char *text, size_t len, char code[LANG_CODE_MAX + 1])
{
	size_t n;
	int cnt;

	code[0] = '\0';
	if (!l || !l->tc || !text)
		return 0;
	if (lang_prepare(l, text, len) < LANG_MIN_TEXT)
		return 0;
	n = strlen(l->buf);
	cnt = textcat_ClassifyFull(l->tc, l->buf, n, l->cand);
	if (cnt != 1) /* TEXTCAT_RESULT_UNKNOWN, _SHORT, or a tie */
		return 0;
	snprintf(code, LANG_CODE_MAX + 1, "%s", l->cand[0].name);
	return 1;
}
