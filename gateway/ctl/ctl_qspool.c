/*
 * ctl_qspool.c - the spools' quarantines for `gatewayctl quarantine`
 * (ctl_qspool.h).
 */
#include "gateway/ctl/ctl_qspool.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/spool.h"
#include "store/spool_quarantine.h"

#define QS_HEX_MAX (64 * 1024) /* bytes shown as a hexdump at most */

/* qs_entry - the object of record `r` (id n) of `instance`. */
static json_t *qs_entry(const char *instance, uint64_t n, const struct spoolq_rec *r)
{
	char id[320];

	snprintf(id, sizeof(id), "%s/%" PRIu64, instance, n);
	return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:b}", "id", id, "instance",
			 instance, "channel", r->channel, "kind", spoolq_kind_name(r->kind),
			 "quarantined_at", (json_int_t)r->at, "size", (json_int_t)r->len,
			 "reason", r->reason, "sender", r->sender, "external_id", r->external_id,
			 "content_type", r->content_type, "stored", 1);
}

struct qs_scan {
	const char *instance;
	json_t *arr;
	size_t max;
};

static int qs_scan_fn(void *arg, uint64_t id, const void *data, size_t len)
{
	struct qs_scan *s = arg;
	struct spoolq_rec r;
	json_t *j;

	if (json_array_size(s->arr) >= s->max)
		return 1;
	if (spoolq_decode(data, len, &r) != GW_OK) {
		fprintf(stderr, "gatewayctl: %s/%" PRIu64 ": an unreadable quarantine record\n",
			s->instance, id);
		return 0;
	}
	j = qs_entry(s->instance, id, &r);
	if (j && json_array_append_new(s->arr, j) != 0)
		json_decref(j);
	return 0;
}

void ctlq_spool_list(const char *state_dir, json_t *arr, size_t max)
{
	char dir[4096], sub[4400];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/spool", state_dir);
	d = opendir(dir);
	while (d && (e = readdir(d)) != NULL) {
		struct qs_scan s = {e->d_name, arr, max};
		struct spool *sp = NULL;
		int rc;

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		rc = spool_open_readonly(sub, &sp);
		if (rc == GW_OK)
			rc = spool_q_scan(sp, 0, qs_scan_fn, &s);
		if (rc != GW_OK && rc != GW_ENOTFOUND)
			fprintf(stderr, "gatewayctl: cannot read the spool of %s: %s\n", e->d_name,
				gw_strerror(rc));
		spool_close(sp);
	}
	if (d)
		closedir(d);
}

/* qs_text - the bytes as a string when they are UTF-8 without NUL
 * (jansson checks the UTF-8), else NULL. */
static json_t *qs_text(const void *data, size_t len)
{
	if (memchr(data, '\0', len))
		return NULL;
	return json_stringn(data, len);
}

/* qs_hexdump - 16 bytes a line: offset, hex, printable. */
static json_t *qs_hexdump(const unsigned char *p, size_t len)
{
	size_t n = len < QS_HEX_MAX ? len : QS_HEX_MAX, size = (n + 15) / 16 * 80 + 64, w = 0;
	char *out = malloc(size);
	json_t *j;

	if (!out)
		return NULL;
	for (size_t off = 0; off < n; off += 16) {
		w += (size_t)snprintf(out + w, size - w, "%08zx ", off);
		for (size_t i = 0; i < 16; i++) {
			if (off + i < n)
				w += (size_t)snprintf(out + w, size - w, " %02x", p[off + i]);
			else
				w += (size_t)snprintf(out + w, size - w, "   ");
		}
		w += (size_t)snprintf(out + w, size - w, "  ");
		for (size_t i = 0; i < 16 && off + i < n; i++)
			out[w++] = p[off + i] >= 32 && p[off + i] < 127 ? (char)p[off + i] : '.';
		out[w++] = '\n';
	}
	out[w] = '\0';
	if (n < len)
		snprintf(out + w, size - w, "... %zu bytes more\n", len - n);
	j = json_string(out);
	free(out);
	return j;
}

json_t *ctlq_spool_show(const char *state_dir, const char *instance, uint64_t n)
{
	char dir[4400], *data = NULL;
	struct spool *sp = NULL;
	struct spoolq_rec r;
	size_t len = 0;
	json_t *j = NULL, *body;
	int rc;

	snprintf(dir, sizeof(dir), "%s/spool/%s", state_dir, instance);
	rc = spool_open_readonly(dir, &sp);
	if (rc == GW_OK)
		rc = spool_q_get(sp, n, &data, &len);
	if (rc == GW_OK)
		rc = spoolq_decode(data, len, &r);
	if (rc == GW_OK)
		j = qs_entry(instance, n, &r);
	if (j) {
		body = r.kind == SPOOLQ_BODY ? qs_text(r.data, r.len) : NULL;
		if (body)
			json_object_set_new(j, "text", body);
		else
			json_object_set_new(j, "hexdump", qs_hexdump(r.data, r.len));
	}
	free(data);
	spool_close(sp);
	return j;
}
