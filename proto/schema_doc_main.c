/*
 * schema_doc_main.c - gateway-schema-doc, the field tables of
 * docs/events.md generated from proto/schema.def (proto_doc.h):
 *
 *   gateway-schema-doc                   every table between its markers
 *   gateway-schema-doc PAGE              PAGE with its tables generated again
 *   gateway-schema-doc --write PAGE      the same, written back to PAGE
 *
 * The test unit.events_doc diffs the second form against docs/events.md.
 * A build tool: not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "proto/proto_doc.h"

#define PAGE_MAX (4u << 20)
#define EXIT_USAGE 64

static int usage(void)
{
	fputs("usage: gateway-schema-doc [--write] [PAGE]\n"
	      "  without PAGE     every object's field table between its marker lines\n"
	      "  PAGE             PAGE (docs/events.md) with the tables between its\n"
	      "                   markers generated again from proto/schema.def, on stdout\n"
	      "  --write PAGE     the same, written back to PAGE when it changed\n",
	      stderr);
	return EXIT_USAGE;
}

/* generate - the output for `path` (NULL: the tables alone) into *out. */
static int generate(const char *path, char **out, size_t *out_len, char *err, size_t errlen)
{
	char *page = NULL;
	size_t len = 0;
	FILE *f = open_memstream(out, out_len);
	int rc = f ? GW_OK : GW_ENOMEM;

	if (rc == GW_OK && path) {
		rc = gw_read_file(path, PAGE_MAX, &page, &len);
		if (rc)
			snprintf(err, errlen, "%s: %s", path, gw_err_text(rc));
	}
	if (rc == GW_OK)
		rc = path ? proto_doc_page(f, page, len, err, errlen)
			  : proto_doc_tables(f, err, errlen);
	if (f && fclose(f) != 0 && rc == GW_OK)
		rc = GW_EIO;
	free(page);
	return rc;
}

/* write_back - replaces `path` with `data` unless it holds that already. */
static int write_back(const char *path, const char *data, size_t len)
{
	char *old = NULL;
	size_t old_len = 0;
	int rc = gw_read_file(path, PAGE_MAX, &old, &old_len);

	if (rc == GW_OK && old_len == len && memcmp(old, data, len) == 0)
		fprintf(stderr, "gateway-schema-doc: %s is current\n", path);
	else
		rc = gw_write_file_atomic(path, data, len);
	if (rc)
		fprintf(stderr, "gateway-schema-doc: %s: %s\n", path, gw_err_text(rc));
	free(old);
	return rc;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	char err[512] = "";
	char *out = NULL;
	size_t len = 0;
	int write = 0, rc;

	if (argc > 1 && strcmp(argv[1], "--write") == 0)
		write = 1;
	if (argc > 1 + write + 1 || (write && argc != 3) ||
	    (argc > 1 + write && argv[1 + write][0] == '-'))
		return usage();
	if (argc > 1 + write)
		path = argv[1 + write];
	rc = generate(path, &out, &len, err, sizeof(err));
	if (rc)
		fprintf(stderr, "gateway-schema-doc: %s\n", err[0] ? err : gw_err_text(rc));
	else if (write)
		rc = write_back(path, out, len);
	else if (fwrite(out, 1, len, stdout) != len || fflush(stdout) != 0)
		rc = GW_EIO;
	free(out);
	return rc ? EXIT_FAILURE : EXIT_SUCCESS;
}
