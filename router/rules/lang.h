/*
 * lang.h - the language a message is written in, with libexttextcat
 * (Debian's libexttextcat and its language models in
 * /usr/share/libexttextcat).
 *
 * Only the candidate languages the operator lists are considered (fewer
 * candidates: faster and fewer wrong guesses); codes are the models' names
 * ("en", "fr", "de", "es", "pt", "it", "nl", ...). Texts shorter than
 * LANG_MIN_TEXT bytes (after trimming) or that the library cannot tell
 * apart give no answer rather than a guess: when it reports several
 * languages as equally likely ("My parcel has not arrived yet" scores
 * Spanish, then English) none is taken, even the first.
 *
 * Only the first LANG_MAX_SCAN bytes are read (a message's language shows
 * in its opening), cut at a UTF-8 boundary. The cost grows with them: with
 * 7 candidates a detection takes about 45 us for 256 bytes and 105 us for
 * 1024 (one core, -O2 library), and the router's budget at 10k messages/s
 * on 2 cores is 200 us per message for everything; 256 bytes already hold
 * a few sentences, which the models tell apart reliably.
 *
 * Threading: a lang handle is used by one thread at a time.
 */
#ifndef GW_LANG_H
#define GW_LANG_H

#include <stddef.h>

#define LANG_MIN_TEXT 12
#define LANG_MAX_SCAN 256
#define LANG_CODE_MAX 15

struct lang;

/*
 * lang_open - loads the models of `codes` (`n` of them; n 0 = none: every
 * lang_detect answers nothing) into a new handle in *out (caller closes;
 * NULL on failure). `model_dir` NULL = the system's folder. `codes` are
 * only read during the call. `err` (`errlen` bytes, may be NULL) gets a
 * message on failure. GW_OK; GW_EINVAL: a malformed, repeated or unknown
 * code (no readable "<code>.lm" in the folder), named in `err`, or models
 * the library could not load; GW_EIO: the temporary file the library reads
 * its list from could not be written in $TMPDIR (or /tmp); GW_ENOMEM.
 */
int lang_open(const char *const *codes, size_t n, const char *model_dir, struct lang **out,
	      char *err, size_t errlen);

/* lang_close - accepts NULL. */
void lang_close(struct lang *l);

/*
 * lang_detect - the language of `text` (`len` bytes, UTF-8, need not be
 * NUL-terminated) into `code` (LANG_CODE_MAX + 1 bytes): 1 when one
 * language was recognized, 0 when none (code set to ""). Never fails.
 */
int lang_detect(struct lang *l, const char *text, size_t len, char code[LANG_CODE_MAX + 1]);

#endif
