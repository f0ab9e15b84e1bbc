/*
 * test_livechat.c - the pure parts of the live-chat channel (connectors/
 * livechat/lc_proto.c): visitor tokens (make, verify, tampering, expiry,
 * malformed forms), site-signed identities and the client frame parser;
 * and the conversation log (connectors/livechat/chatlog.c): ids per
 * conversation, idempotent appends, resume after an id, reopening, file
 * grants; and the checks of an upload (connectors/livechat/lc_file.c):
 * content sniffing, allowed types, clean names, files keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "store/chatlog.h"
#include "connectors/livechat/lc_file.h"
#include "connectors/livechat/lc_proto.h"
#include "core/err.h"
#include "tests/unit/testutil.h"

static const char secret[] = "0123456789abcdef-test-secret";
static const char visitor[] = "00112233445566778899aabbccddeeff";

static void test_token_roundtrip(void **state)
{
	char tok[LC_TOKEN_MAX + 1], got[LC_VISITOR_LEN + 1];

	(void)state;
	assert_int_equal(lc_token_make(secret, visitor, 2000000000, tok, sizeof(tok)), GW_OK);
	assert_int_equal(strncmp(tok, "v1.00112233445566778899aabbccddeeff.2000000000.", 47), 0);
	assert_int_equal(strlen(tok), 47 + 64);
	assert_int_equal(lc_token_verify(secret, tok, 1900000000, got), GW_OK);
	assert_string_equal(got, visitor);
}

static void test_token_refused(void **state)
{
	char tok[LC_TOKEN_MAX + 1], bad[LC_TOKEN_MAX + 1], got[LC_VISITOR_LEN + 1];
	size_t n;

	(void)state;
	assert_int_equal(lc_token_make(secret, visitor, 2000000000, tok, sizeof(tok)), GW_OK);
	n = strlen(tok);
	/* Expired, wrong secret, one MAC character changed, another visitor. */
	assert_int_equal(lc_token_verify(secret, tok, 2000000001, got), GW_EAUTH);
	assert_int_equal(lc_token_verify("another-secret-0123", tok, 0, got), GW_EAUTH);
	memcpy(bad, tok, n + 1);
	bad[n - 1] = bad[n - 1] == '0' ? '1' : '0';
	assert_int_equal(lc_token_verify(secret, bad, 0, got), GW_EAUTH);
	memcpy(bad, tok, n + 1);
	bad[3] = bad[3] == '0' ? '1' : '0';
	assert_int_equal(lc_token_verify(secret, bad, 0, got), GW_EAUTH);
	/* A later expiry with the old MAC. */
	memcpy(bad, tok, n + 1);
	bad[36] = '3';
	assert_int_equal(lc_token_verify(secret, bad, 0, got), GW_EAUTH);
	/* Malformed forms. */
	assert_int_equal(lc_token_verify(secret, NULL, 0, got), GW_EPROTO);
	assert_int_equal(lc_token_verify(secret, "", 0, got), GW_EPROTO);
	assert_int_equal(lc_token_verify(secret, "v2.x.1.ab", 0, got), GW_EPROTO);
	assert_int_equal(lc_token_verify(secret, "v1.0011.2000000000.00", 0, got), GW_EPROTO);
	memcpy(bad, tok, n + 1);
	bad[n - 1] = '\0';
	assert_int_equal(lc_token_verify(secret, bad, 0, got), GW_EPROTO);
	memcpy(bad, tok, n + 1);
	bad[36] = 'x';
	assert_int_equal(lc_token_verify(secret, bad, 0, got), GW_EPROTO);
	memcpy(bad, tok, n + 1);
	bad[5] = 'G';
	assert_int_equal(lc_token_verify(secret, bad, 0, got), GW_EPROTO);
	assert_int_equal(lc_token_make(secret, "short", 1, bad, sizeof(bad)), GW_EINVAL);
	assert_int_equal(lc_token_make(secret, visitor, 1, bad, 20), GW_ETOOBIG);
}

/* The site's side: hex HMAC-SHA256 of "id|email|name". */
static void site_sign(const char *key, const char *msg, char out[65])
{
	unsigned char mac[32];
	unsigned int len = 0;

	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), mac,
	     &len);
	for (unsigned int i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static void test_identity(void **state)
{
	char sig[65];
	json_t *id;

	(void)state;
	site_sign("site-key", "u42|ana@example.com|Ana", sig);
	id = json_pack("{s:s,s:s,s:s,s:s}", "id", "u42", "name", "Ana", "email",
		       "ana@example.com", "sig", sig);
	assert_int_equal(lc_identity_verify("site-key", id), GW_OK);
	assert_int_equal(lc_identity_verify("other-key", id), GW_EAUTH);
	assert_int_equal(lc_identity_verify(NULL, id), GW_EPROTO);
	json_object_set_new(id, "name", json_string("Eve"));
	assert_int_equal(lc_identity_verify("site-key", id), GW_EAUTH);
	json_object_del(id, "id");
	assert_int_equal(lc_identity_verify("site-key", id), GW_EPROTO);
	json_decref(id);
	/* Absent name and email sign as "". */
	site_sign("site-key", "u7||", sig);
	id = json_pack("{s:s,s:s}", "id", "u7", "sig", sig);
	assert_int_equal(lc_identity_verify("site-key", id), GW_OK);
	json_decref(id);
	id = json_pack("{s:i,s:s}", "id", 7, "sig", sig);
	assert_int_equal(lc_identity_verify("site-key", id), GW_EPROTO);
	json_decref(id);
	/* A '|' in a field would let one signature be split differently:
	 * ("u42", "ana@example.com|Ana", "") signs the same text as above. */
	site_sign("site-key", "u42|ana@example.com|Ana", sig);
	id = json_pack("{s:s,s:s,s:s}", "id", "u42", "email", "ana@example.com|Ana", "sig", sig);
	assert_int_equal(lc_identity_verify("site-key", id), GW_EPROTO);
	json_decref(id);
}

static int parse(const char *s, size_t max, struct lc_frame *f)
{
	char why[128] = "";
	int rc = lc_frame_parse(s, strlen(s), max, f, why, sizeof(why));

	if (rc != GW_OK)
		assert_true(why[0] != '\0');
	return rc;
}

static void test_frames_ok(void **state)
{
	struct lc_frame f;

	(void)state;
	assert_int_equal(parse("{\"type\":\"hello\",\"token\":null,\"last_seen\":null}", 100, &f),
			 GW_OK);
	assert_int_equal(f.type, LC_F_HELLO);
	assert_null(f.token);
	assert_int_equal(f.last_seen, 0);
	assert_null(f.identity);
	lc_frame_clear(&f);
	assert_int_equal(parse("{\"type\":\"hello\",\"token\":\"v1.x\",\"last_seen\":12,"
			       "\"identity\":{\"id\":\"u\"}}", 100, &f), GW_OK);
	assert_string_equal(f.token, "v1.x");
	assert_int_equal(f.last_seen, 12);
	assert_non_null(f.identity);
	lc_frame_clear(&f);
	assert_int_equal(parse("{\"type\":\"message\",\"client_id\":\"3f2a-b_C\",\"text\":\"h\\u00e9\","
			       "\"name\":\"Ana\",\"email\":\"a@b.c\"}", 3, &f), GW_OK);
	assert_int_equal(f.type, LC_F_MESSAGE);
	assert_string_equal(f.client_id, "3f2a-b_C");
	assert_string_equal(f.text, "h\xc3\xa9");
	assert_int_equal(f.text_len, 3);
	assert_string_equal(f.name, "Ana");
	assert_string_equal(f.email, "a@b.c");
	lc_frame_clear(&f);
	assert_int_equal(parse("{\"type\":\"seen\",\"id\":5}", 10, &f), GW_OK);
	assert_int_equal(f.type, LC_F_SEEN);
	assert_int_equal(f.seen_id, 5);
	lc_frame_clear(&f);
	assert_int_equal(parse("{\"type\":\"ping\"}", 10, &f), GW_OK);
	assert_int_equal(f.type, LC_F_PING);
	lc_frame_clear(&f);
}

static void test_frames_refused(void **state)
{
	static const char *const bad[] = {
		"", "not json", "[]", "{}", "{\"type\":7}", "{\"type\":\"nope\"}",
		"{\"type\":\"hello\",\"token\":5}",
		"{\"type\":\"hello\",\"last_seen\":-1}",
		"{\"type\":\"hello\",\"last_seen\":\"3\"}",
		"{\"type\":\"hello\",\"identity\":\"x\"}",
		"{\"type\":\"message\",\"text\":\"hi\"}",
		"{\"type\":\"message\",\"client_id\":\"\",\"text\":\"hi\"}",
		"{\"type\":\"message\",\"client_id\":\"a b\",\"text\":\"hi\"}",
		"{\"type\":\"message\",\"client_id\":\"a\",\"text\":\"\"}",
		"{\"type\":\"message\",\"client_id\":\"a\",\"text\":5}",
		"{\"type\":\"message\",\"client_id\":\"a\",\"text\":\"a\\u0000b\"}",
		"{\"type\":\"message\",\"client_id\":\"a\",\"text\":\"hi\",\"name\":3}",
		"{\"type\":\"message\",\"type\":\"message\",\"client_id\":\"a\",\"text\":\"hi\"}",
		"{\"type\":\"seen\"}", "{\"type\":\"seen\",\"id\":0}",
	};
	struct lc_frame f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i], 100, &f);

		if (rc != GW_EPROTO)
			print_error("frame %zu: %s\n", i, bad[i]);
		assert_int_equal(rc, GW_EPROTO);
		lc_frame_clear(&f);
	}
	/* Over max_text: too_large, with the client_id known for the error. */
	assert_int_equal(parse("{\"type\":\"message\",\"client_id\":\"c1\",\"text\":\"abcd\"}", 3,
			       &f), GW_ETOOBIG);
	assert_string_equal(f.client_id, "c1");
	lc_frame_clear(&f);
}

/* ---- the conversation log ---------------------------------------------- */

struct seen_ids {
	uint64_t ids[16];
	char text[16][64];
	size_t n;
};

static void collect(void *arg, uint64_t id, const char *json, size_t len)
{
	struct seen_ids *s = arg;
	json_t *o = json_loadb(json, len, 0, NULL);

	assert_non_null(o);
	assert_true(s->n < 16);
	s->ids[s->n] = id;
	snprintf(s->text[s->n], sizeof(s->text[0]), "%s",
		 json_string_value(json_object_get(o, "text")));
	assert_int_equal(json_integer_value(json_object_get(o, "id")), (json_int_t)id);
	s->n++;
	json_decref(o);
}

static void test_chatlog(void **state)
{
	char dir[64];
	struct chatlog *cl = NULL;
	struct chatlog_entry e[3];
	struct seen_ids s;
	uint64_t id = 0;

	(void)state;
	test_tmpdir(dir, sizeof(dir), "livechat");
	assert_int_equal(chatlog_open(dir, 16u << 20, &cl), GW_OK);
	memset(e, 0, sizeof(e));
	e[0] = (struct chatlog_entry){.conversation = "visitor:a", .direction = "in",
				      .text = "one", .client_id = "c1", .dedup = "c:c1", .ts = 1};
	e[1] = (struct chatlog_entry){.conversation = "visitor:b", .direction = "in",
				      .text = "other", .client_id = "c1", .dedup = "c:c1", .ts = 2};
	e[2] = (struct chatlog_entry){.conversation = "visitor:a", .direction = "out",
				      .text = "reply", .dedup = "d:7", .ts = 3};
	assert_int_equal(chatlog_append(cl, e, 3), GW_OK);
	assert_int_equal(e[0].id, 1);
	assert_int_equal(e[1].id, 1);
	assert_int_equal(e[2].id, 2);
	assert_false(e[0].duplicate || e[1].duplicate || e[2].duplicate);
	/* The same dedup key again: its first id, nothing added. */
	e[0].text = "one again";
	assert_int_equal(chatlog_append(cl, e, 1), GW_OK);
	assert_int_equal(e[0].id, 1);
	assert_true(e[0].duplicate);
	assert_int_equal(chatlog_find(cl, "visitor:a", "d:7", &id), GW_OK);
	assert_int_equal(id, 2);
	assert_int_equal(chatlog_find(cl, "visitor:a", "c:nope", &id), GW_OK);
	assert_int_equal(id, 0);
	chatlog_close(cl);
	/* Reopened: the ids go on; resume after an id; a prefix is not a match. */
	assert_int_equal(chatlog_open(dir, 16u << 20, &cl), GW_OK);
	e[0] = (struct chatlog_entry){.conversation = "visitor:a", .direction = "in",
				      .text = "three", .client_id = "c3", .dedup = "c:c3", .ts = 4};
	assert_int_equal(chatlog_append(cl, e, 1), GW_OK);
	assert_int_equal(e[0].id, 3);
	memset(&s, 0, sizeof(s));
	assert_int_equal(chatlog_since(cl, "visitor:a", 0, 100, collect, &s), GW_OK);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.text[0], "one");
	assert_string_equal(s.text[1], "reply");
	assert_string_equal(s.text[2], "three");
	memset(&s, 0, sizeof(s));
	assert_int_equal(chatlog_since(cl, "visitor:a", 1, 1, collect, &s), GW_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ids[0], 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(chatlog_since(cl, "visitor:", 0, 100, collect, &s), GW_OK);
	assert_int_equal(s.n, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(chatlog_since(cl, "visitor:b", 0, 100, collect, &s), GW_OK);
	assert_int_equal(s.n, 1);
	chatlog_close(cl);
	test_rmtree(dir);
}

static void test_sniff(void **state)
{
	static const unsigned char webp[] = "RIFF\x10\0\0\0WEBPVP8 ";
	static const unsigned char bad_utf8[] = "caf\xc3";
	static const unsigned char overlong[] = "\xc0\xaf";
	static const unsigned char surrogate[] = "\xed\xa0\x80";

	(void)state;
	assert_string_equal(lc_sniff("\x89PNG\r\n\x1a\nIHDR", 12), "image/png");
	assert_string_equal(lc_sniff("\xff\xd8\xff\xe0", 4), "image/jpeg");
	assert_string_equal(lc_sniff("GIF89a..", 8), "image/gif");
	assert_string_equal(lc_sniff("GIF87a..", 8), "image/gif");
	assert_string_equal(lc_sniff(webp, sizeof(webp) - 1), "image/webp");
	assert_string_equal(lc_sniff("%PDF-1.7\n", 9), "application/pdf");
	assert_string_equal(lc_sniff("hello\r\n\tw\xc3\xb6rld \xf0\x9f\x98\x80\n", 20), "text/plain");
	/* Cut signatures, binary, HTML-looking text is still text (the allowed
	 * list decides), control characters, invalid UTF-8. */
	assert_null(lc_sniff("\x89PNG", 4));
	assert_null(lc_sniff("RIFF\x10\0\0\0WAVE", 12));
	assert_null(lc_sniff("\x7f" "ELF\x02\x01", 6));
	assert_null(lc_sniff("a\0b", 3));
	assert_null(lc_sniff("bell\x07", 5));
	assert_null(lc_sniff(bad_utf8, 4));
	assert_null(lc_sniff(overlong, 2));
	assert_null(lc_sniff(surrogate, 3));
	assert_null(lc_sniff("", 0));
	assert_string_equal(lc_sniff("<html>", 6), "text/plain");
}

static void test_types(void **state)
{
	char t[LC_FILE_TYPE_MAX + 1];

	(void)state;
	assert_true(lc_type_allowed("image/png, application/pdf ,text/plain", "application/pdf"));
	assert_true(lc_type_allowed("image/png,text/plain", "text/plain"));
	assert_false(lc_type_allowed("image/png,text/plain", "text/html"));
	assert_false(lc_type_allowed("image/png", "image/pn"));
	assert_false(lc_type_allowed("", "image/png"));
	assert_false(lc_type_allowed(NULL, "image/png"));
	assert_int_equal(lc_type_normalize(" Text/Plain; charset=utf-8", t, sizeof(t)), GW_OK);
	assert_string_equal(t, "text/plain");
	assert_int_equal(lc_type_normalize("image/svg+xml", t, sizeof(t)), GW_OK);
	assert_int_equal(lc_type_normalize("", t, sizeof(t)), GW_EINVAL);
	assert_int_equal(lc_type_normalize("image", t, sizeof(t)), GW_EINVAL);
	assert_int_equal(lc_type_normalize("a/b/c", t, sizeof(t)), GW_EINVAL);
	assert_int_equal(lc_type_normalize("/png", t, sizeof(t)), GW_EINVAL);
	assert_int_equal(lc_type_normalize("image/p\"ng", t, sizeof(t)), GW_EINVAL);
	assert_int_equal(lc_type_normalize("image/png\r\nX: y", t, sizeof(t)), GW_EINVAL);
}

static void test_names(void **state)
{
	char out[LC_FILE_NAME_MAX + 1], small[8], big[1024];

	(void)state;
	assert_int_equal(lc_name_clean("photo 1.png", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "photo 1.png");
	assert_int_equal(lc_name_clean("../../etc/passwd", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "passwd");
	assert_int_equal(lc_name_clean("C:\\Users\\ana\\cv.pdf", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "cv.pdf");
	assert_int_equal(lc_name_clean("a\r\nb\x01\"c\x7f.txt", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "abc.txt");
	assert_int_equal(lc_name_clean("...hidden", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "hidden");
	assert_int_equal(lc_name_clean("r\xc3\xa9sum\xc3\xa9.pdf", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "r\xc3\xa9sum\xc3\xa9.pdf");
	/* Nothing left, not UTF-8. */
	assert_int_equal(lc_name_clean("", out, sizeof(out)), GW_EINVAL);
	assert_int_equal(lc_name_clean("dir/", out, sizeof(out)), GW_EINVAL);
	assert_int_equal(lc_name_clean("..", out, sizeof(out)), GW_EINVAL);
	assert_int_equal(lc_name_clean("\x01\x02", out, sizeof(out)), GW_EINVAL);
	assert_int_equal(lc_name_clean("a\xff.png", out, sizeof(out)), GW_EINVAL);
	assert_string_equal(out, "");
	/* Bounded, on a character boundary. */
	assert_int_equal(lc_name_clean("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", small, sizeof(small)),
			 GW_OK);
	assert_string_equal(small, "\xc3\xa9\xc3\xa9\xc3\xa9");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(lc_name_clean(big, out, sizeof(out)), GW_OK);
	assert_int_equal(strlen(out), LC_FILE_NAME_MAX);
}

static void test_files_key(void **state)
{
	char key[LC_FILES_KEY_MAX + 1], conv[LC_ADDRESS_MAX];

	(void)state;
	assert_int_equal(lc_files_key_make(secret, "site:u.42|x", 2000, key, sizeof(key)), GW_OK);
	assert_int_equal(lc_files_key_verify(secret, key, 1999, conv), GW_OK);
	assert_string_equal(conv, "site:u.42|x");
	assert_int_equal(lc_files_key_verify(secret, key, 2001, conv), GW_EAUTH);
	assert_int_equal(lc_files_key_verify("another-secret-0123456", key, 1999, conv), GW_EAUTH);
	key[strlen(key) - 1] = key[strlen(key) - 1] == '0' ? '1' : '0';
	assert_int_equal(lc_files_key_verify(secret, key, 1999, conv), GW_EAUTH);
	assert_int_equal(lc_files_key_verify(secret, "f1.2000..", 1999, conv), GW_EPROTO);
	assert_int_equal(lc_files_key_verify(secret, "f1.x.61.", 1999, conv), GW_EPROTO);
	assert_int_equal(lc_files_key_verify(secret, "v1.abc", 1999, conv), GW_EPROTO);
	assert_int_equal(lc_files_key_verify(secret, NULL, 1999, conv), GW_EPROTO);
	assert_int_equal(lc_files_key_make(secret, "", 2000, key, sizeof(key)), GW_ETOOBIG);
	assert_int_equal(lc_files_key_make(secret, "visitor:a", 2000, key, 40), GW_ETOOBIG);
}

static void test_frame_files(void **state)
{
	static const char ok[] = "{\"type\":\"message\",\"client_id\":\"a\",\"text\":\"\","
				 "\"attachments\":[{\"ref\":\"sha256:"
				 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}]}";
	static const char bad[] = "{\"type\":\"message\",\"client_id\":\"a\",\"text\":\"x\","
				  "\"attachments\":[{\"ref\":\"https://evil.example/x\"}]}";
	static const char empty[] = "{\"type\":\"message\",\"client_id\":\"a\",\"text\":\"\"}";
	struct lc_frame f;
	char why[128];

	(void)state;
	assert_int_equal(lc_frame_parse(ok, strlen(ok), 100, &f, why, sizeof(why)), GW_OK);
	assert_int_equal(f.n_files, 1);
	assert_memory_equal(f.files[0], "0011223344", 10);
	lc_frame_clear(&f);
	assert_int_equal(lc_frame_parse(bad, strlen(bad), 100, &f, why, sizeof(why)), GW_EPROTO);
	lc_frame_clear(&f);
	assert_int_equal(lc_frame_parse(empty, strlen(empty), 100, &f, why, sizeof(why)), GW_EPROTO);
	lc_frame_clear(&f);
}

static void test_chatlog_files(void **state)
{
	char dir[64], meta[64];
	struct chatlog *cl = NULL;
	const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

	(void)state;
	test_tmpdir(dir, sizeof(dir), "livechat");
	assert_int_equal(chatlog_open(dir, 16u << 20, &cl), GW_OK);
	assert_int_equal(chatlog_file_get(cl, "visitor:a", hex, meta, sizeof(meta)), GW_ENOTFOUND);
	assert_int_equal(chatlog_file_put(cl, "visitor:a", hex, "{\"type\":\"image/png\"}"), GW_OK);
	assert_int_equal(chatlog_file_get(cl, "visitor:a", hex, meta, sizeof(meta)), GW_OK);
	assert_string_equal(meta, "{\"type\":\"image/png\"}");
	assert_int_equal(chatlog_file_get(cl, "visitor:b", hex, meta, sizeof(meta)), GW_ENOTFOUND);
	assert_int_equal(chatlog_file_get(cl, "visitor:a", hex, meta, 4), GW_ETOOBIG);
	chatlog_close(cl);
	test_rmtree(dir);
}

static void test_texts(void **state)
{
	const char *list = "en=Away|fr=Absent|pt-br=Ausente";
	char out[64], small[5];

	(void)state;
	assert_int_equal(lc_text_for(list, "fr-CA", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "Absent");
	assert_int_equal(lc_text_for(list, "FR", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "Absent");
	assert_int_equal(lc_text_for(list, "de", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "Away");
	assert_int_equal(lc_text_for(list, NULL, out, sizeof(out)), GW_OK);
	assert_string_equal(out, "Away");
	assert_int_equal(lc_text_for("fr=Absent|de=Weg", "es", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "Absent");
	assert_int_equal(lc_text_for("Just one text = for all", "es", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "Just one text = for all");
	assert_int_equal(lc_text_for("en=\xc3\xa9t\xc3\xa9", "en", small, sizeof(small)), GW_OK);
	assert_string_equal(small, "\xc3\xa9t"); /* the second one cut: dropped */
	assert_int_equal(lc_text_for("", "en", out, sizeof(out)), GW_ENOTFOUND);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_roundtrip),
		cmocka_unit_test(test_token_refused),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_frames_ok),
		cmocka_unit_test(test_frames_refused),
		cmocka_unit_test(test_chatlog),
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_files_key),
		cmocka_unit_test(test_frame_files),
		cmocka_unit_test(test_chatlog_files),
		cmocka_unit_test(test_texts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
