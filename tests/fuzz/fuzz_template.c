/*
 * fuzz_template.c - libFuzzer target for the template renderer
 * (core/template.c). The input is the template; every variable is known
 * and its value is the name itself, except names starting with "x" (unknown).
 * The renderer must never write past its limit, and a template that
 * gw_tmpl_check accepts must never fail to render with GW_EPROTO.
 *   build-fuzz/bin/fuzz_template -rss_limit_mb=1024 corpus tests/fuzz/corpus/template
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/template.h"

#define OUT_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(void *arg, const char *name)
{
	(void)arg;
	return name[0] == 'x' ? NULL : name;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src = malloc(size + 1), *out = NULL, err[256], missing[GW_TMPL_NAME_MAX + 1];
	int rc, checked;

	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	checked = gw_tmpl_check(src, err, sizeof(err));
	rc = gw_tmpl_render(src, lookup, NULL, OUT_MAX, &out, missing, err, sizeof(err));
	if (rc == GW_OK && (!out || strlen(out) > OUT_MAX))
		abort();
	if (rc != GW_OK && out)
		abort();
	if (checked == GW_OK && rc == GW_EPROTO)
		abort();
	free(out);
	free(src);
	return 0;
}
