/* test_template.c - core/template.c: the renderer of canned responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/template.h"

static const char *vars[][2] = {
	{"customer.name", "Zoé"},
	{"ticket.id", "T-42"},
	{"customer.attr.plan", "gold"},
	{"empty", ""},
};

static const char *lookup(void *arg, const char *name)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (strcmp(vars[i][0], name) == 0)
			return vars[i][1];
	return NULL;
}

static int render(const char *src, size_t max, char **out, char *missing, char *err)
{
	return gw_tmpl_render(src, lookup, NULL, max, out, missing, err, 256);
}

/* Variables are replaced, spaces inside braces allowed, text kept. */
static void test_render_variables(void **state)
{
	char err[256], *out = NULL;

	(void)state;
	assert_int_equal(render("Hello {{customer.name}}, [#{{ ticket.id }}] {{customer.attr.plan}}"
				"{{empty}}!", 1000, &out, NULL, err), GW_OK);
	assert_string_equal(out, "Hello Zoé, [#T-42] gold!");
	free(out);
	assert_int_equal(render("", 10, &out, NULL, err), GW_OK);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(render("a {{{{ b }} c", 100, &out, NULL, err), GW_OK);
	assert_string_equal(out, "a {{ b }} c");
	free(out);
}

/* A variable the lookup does not know fails, naming it. */
static void test_render_missing(void **state)
{
	char err[256], missing[GW_TMPL_NAME_MAX + 1] = "", *out = (char *)1;

	(void)state;
	assert_int_equal(render("Dear {{agent.name}}", 1000, &out, missing, err), GW_EMISSING);
	assert_null(out);
	assert_string_equal(missing, "agent.name");
	assert_non_null(strstr(err, "agent.name"));
}

/* Malformed placeholders are GW_EPROTO; gw_tmpl_check finds them too. */
static void test_render_malformed(void **state)
{
	static const char *bad[] = {"x {{", "x {{}}", "x {{ a b }}", "x {{a}", "{{a!}}", NULL};
	char err[256], *out;

	(void)state;
	for (size_t i = 0; bad[i]; i++) {
		assert_int_equal(render(bad[i], 1000, &out, NULL, err), GW_EPROTO);
		assert_int_equal(gw_tmpl_check(bad[i], err, sizeof(err)), GW_EPROTO);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(gw_tmpl_check("ok {{x.y}}", err, sizeof(err)), GW_OK);
}

/* The output never passes the limit; a long name is refused. */
static void test_render_bounds(void **state)
{
	char err[256], *out, name[GW_TMPL_NAME_MAX + 8];

	(void)state;
	assert_int_equal(render("0123456789", 10, &out, NULL, err), GW_OK);
	free(out);
	assert_int_equal(render("0123456789a", 10, &out, NULL, err), GW_ETOOBIG);
	assert_int_equal(render("12345{{ticket.id}}", 8, &out, NULL, err), GW_ETOOBIG);
	memset(name, 'a', sizeof(name));
	memcpy(name, "{{", 2);
	memcpy(name + sizeof(name) - 3, "}}", 3);
	assert_int_equal(render(name, 1000, &out, NULL, err), GW_EPROTO);
	assert_int_equal(gw_tmpl_render(NULL, lookup, NULL, 10, &out, NULL, err, sizeof(err)),
			 GW_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_variables),
		cmocka_unit_test(test_render_missing),
		cmocka_unit_test(test_render_malformed),
		cmocka_unit_test(test_render_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
