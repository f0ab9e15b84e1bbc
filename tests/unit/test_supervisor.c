/* test_supervisor.c - gatewayd's restart policy and child state machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "core/err.h"
#include "gateway/supervisor.h"

static const struct sup_policy policy = {
	.backoff_min_ms = 200,
	.backoff_max_ms = 30000,
	.stable_ms = 10000,
};

/* Wait statuses as the kernel encodes them. */
#define EXITED(code) W_EXITCODE(code, 0)
#define KILLED(sig) W_EXITCODE(0, sig)

static void backoff_doubles_up_to_max(void **state)
{
	(void)state;
	assert_int_equal(sup_backoff_ms(&policy, 0), 200);
	assert_int_equal(sup_backoff_ms(&policy, 1), 200);
	assert_int_equal(sup_backoff_ms(&policy, 2), 400);
	assert_int_equal(sup_backoff_ms(&policy, 3), 800);
	assert_int_equal(sup_backoff_ms(&policy, 8), 25600);
	assert_int_equal(sup_backoff_ms(&policy, 9), 30000);
	assert_int_equal(sup_backoff_ms(&policy, 4000000000u), 30000);
}

static void backoff_odd_policies(void **state)
{
	struct sup_policy p = {.backoff_min_ms = 500, .backoff_max_ms = 100};
	struct sup_policy huge = {.backoff_min_ms = INT64_MAX / 2 + 1,
				  .backoff_max_ms = INT64_MAX};

	(void)state;
	/* max below min: min wins, no doubling */
	assert_int_equal(sup_backoff_ms(&p, 5), 500);
	p.backoff_min_ms = 0;
	assert_int_equal(sup_backoff_ms(&p, 5), 0);
	assert_true(sup_backoff_ms(&huge, 3) == INT64_MAX);
}

static void init_checks_names(void **state)
{
	struct sup_child c;
	char long_name[SUP_NAME_MAX + 1];

	(void)state;
	assert_int_equal(sup_child_init(&c, SUP_KIND_CONNECTOR, "api", "api"), GW_OK);
	assert_string_equal(c.name, "api");
	assert_string_equal(c.type, "api");
	assert_int_equal(c.state, SUP_STOPPED);
	assert_int_equal(sup_child_init(&c, SUP_KIND_ROUTER, "", NULL), GW_EINVAL);
	assert_int_equal(sup_child_init(&c, SUP_KIND_ROUTER, NULL, NULL), GW_EINVAL);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(sup_child_init(&c, SUP_KIND_CONNECTOR, long_name, "api"), GW_EINVAL);
}

static void crash_loop_backs_off_and_stable_run_resets(void **state)
{
	struct sup_child c;
	int64_t t = 1000;

	(void)state;
	sup_child_init(&c, SUP_KIND_ROUTER, "router", NULL);
	sup_child_started(&c, 11, t, 5000);
	assert_int_equal(c.state, SUP_RUNNING);
	assert_int_equal(c.pid, 11);
	assert_int_equal(c.restarts, 0);
	assert_null(strchr(c.last_exit, ' '));

	/* three quick crashes: 200, 400, 800 */
	for (int i = 0; i < 3; i++) {
		t += 50;
		assert_int_equal(sup_child_exited(&c, &policy, EXITED(1), t, 0), SUP_BACKOFF);
		assert_int_equal(c.pid, 0);
		assert_string_equal(c.last_exit, "code 1");
		assert_int_equal(c.restart_delay_ms, 200 << i);
		assert_false(sup_child_due(&c, t + (200 << i) - 1));
		assert_true(sup_child_due(&c, t + (200 << i)));
		t += 200 << i;
		sup_child_started(&c, 12 + i, t, 6000);
	}
	assert_int_equal(c.restarts, 3);
	assert_int_equal(c.starts, 4);
	assert_int_equal(c.failures, 3);

	/* it ran for stable_ms: the next failure starts again at min */
	t += policy.stable_ms;
	assert_int_equal(sup_child_exited(&c, &policy, KILLED(9), t, 0), SUP_BACKOFF);
	assert_string_equal(c.last_exit, "signal 9");
	assert_int_equal(c.failures, 1);
	assert_int_equal(c.restart_delay_ms, 200);
}

static void exit_78_disables(void **state)
{
	struct sup_child c;

	(void)state;
	sup_child_init(&c, SUP_KIND_CONNECTOR, "api", "api");
	sup_child_started(&c, 20, 0, 0);
	assert_int_equal(sup_child_exited(&c, &policy, EXITED(SUP_EXIT_DISABLED), 10, 0),
			 SUP_DISABLED);
	assert_string_equal(c.reason, "exited 78: see log");
	assert_string_equal(c.last_exit, "code 78");
	assert_false(sup_child_due(&c, INT64_MAX));
	/* also while stopping: the reason matters more than "stopped" */
	sup_child_init(&c, SUP_KIND_CONNECTOR, "api", "api");
	sup_child_started(&c, 21, 0, 0);
	assert_int_equal(sup_child_exited(&c, &policy, EXITED(78), 10, 1), SUP_DISABLED);
}

static void exit_while_stopping_is_final(void **state)
{
	struct sup_child c;

	(void)state;
	sup_child_init(&c, SUP_KIND_CONNECTOR, "api", "api");
	sup_child_started(&c, 30, 0, 0);
	assert_int_equal(sup_child_exited(&c, &policy, KILLED(15), 10, 1), SUP_STOPPED);
	assert_string_equal(c.last_exit, "signal 15");
	assert_false(sup_child_due(&c, INT64_MAX));
}

static void cancel_stops_a_pending_restart(void **state)
{
	struct sup_child c;

	(void)state;
	sup_child_init(&c, SUP_KIND_ROUTER, "router", NULL);
	sup_child_started(&c, 40, 0, 0);
	sup_child_exited(&c, &policy, EXITED(2), 10, 0);
	sup_child_cancel(&c);
	assert_int_equal(c.state, SUP_STOPPED);
	assert_false(sup_child_due(&c, INT64_MAX));
	/* a disabled child stays disabled */
	sup_child_disable(&c, "token: environment variable X is not set");
	sup_child_cancel(&c);
	assert_int_equal(c.state, SUP_DISABLED);
}

static void spawn_failure_backs_off(void **state)
{
	struct sup_child c;

	(void)state;
	sup_child_init(&c, SUP_KIND_ROUTER, "router", NULL);
	assert_int_equal(sup_child_spawn_failed(&c, &policy, "Resource temporarily unavailable",
						100, 0), SUP_BACKOFF);
	assert_int_equal(c.restart_due_ms, 300);
	assert_string_equal(c.reason, "Resource temporarily unavailable");
	assert_int_equal(sup_child_spawn_failed(&c, &policy, "again", 300, 0), SUP_BACKOFF);
	assert_int_equal(c.restart_due_ms, 700);
	/* a successful start clears the reason and is not a restart */
	sup_child_started(&c, 50, 700, 0);
	assert_string_equal(c.reason, "");
	assert_int_equal(c.restarts, 0);
	assert_int_equal(sup_child_spawn_failed(&c, &policy, "x", 800, 1), SUP_STOPPED);
}

static void status_json_shape(void **state)
{
	struct sup_child ch[3];
	struct sup_status_info info = {
		.pid = 7, .started_at_ms = 1000, .updated_at_ms = 2000,
		.config_path = "/etc/gw.yaml", .state_dir = "/var/lib/gw",
	};
	json_t *doc, *kids, *k;

	(void)state;
	sup_child_init(&ch[0], SUP_KIND_ROUTER, "router", NULL);
	sup_child_started(&ch[0], 100, 0, 1500);
	sup_child_init(&ch[1], SUP_KIND_CONNECTOR, "api", "api");
	sup_child_started(&ch[1], 101, 0, 1500);
	sup_child_exited(&ch[1], &policy, KILLED(9), 10, 0);
	sup_child_init(&ch[2], SUP_KIND_CONNECTOR, "sms", "api");
	sup_child_disable(&ch[2], "token: not set");
	doc = sup_status_json(&info, ch, 3);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "process")), "gatewayd");
	assert_int_equal(json_integer_value(json_object_get(doc, "pid")), 7);
	assert_string_equal(json_string_value(json_object_get(doc, "config")), "/etc/gw.yaml");
	kids = json_object_get(doc, "children");
	assert_int_equal(json_array_size(kids), 3);

	k = json_array_get(kids, 0);
	assert_string_equal(json_string_value(json_object_get(k, "kind")), "router");
	assert_null(json_object_get(k, "type"));
	assert_string_equal(json_string_value(json_object_get(k, "state")), "running");
	assert_int_equal(json_integer_value(json_object_get(k, "pid")), 100);
	assert_true(json_is_null(json_object_get(k, "last_exit")));
	assert_true(json_is_null(json_object_get(k, "reason")));

	k = json_array_get(kids, 1);
	assert_string_equal(json_string_value(json_object_get(k, "type")), "api");
	assert_string_equal(json_string_value(json_object_get(k, "state")), "backoff");
	assert_string_equal(json_string_value(json_object_get(k, "last_exit")), "signal 9");
	assert_int_equal(json_integer_value(json_object_get(k, "pid")), 0);
	assert_int_equal(json_integer_value(json_object_get(k, "restart_in_ms")), 200);

	k = json_array_get(kids, 2);
	assert_string_equal(json_string_value(json_object_get(k, "state")), "disabled");
	assert_string_equal(json_string_value(json_object_get(k, "reason")), "token: not set");
	assert_int_equal(json_integer_value(json_object_get(k, "started_at")), 0);
	json_decref(doc);
}

static void names(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(sup_state_name(SUP_BACKOFF), "backoff");
	assert_string_equal(sup_state_name((enum sup_state)99), "?");
	assert_string_equal(sup_kind_name(SUP_KIND_CONNECTOR), "connector");
	sup_format_exit(EXITED(0), buf, sizeof(buf));
	assert_string_equal(buf, "code 0");
	sup_format_exit(KILLED(11), buf, sizeof(buf));
	assert_string_equal(buf, "signal 11");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backoff_doubles_up_to_max),
		cmocka_unit_test(backoff_odd_policies),
		cmocka_unit_test(init_checks_names),
		cmocka_unit_test(crash_loop_backs_off_and_stable_run_resets),
		cmocka_unit_test(exit_78_disables),
		cmocka_unit_test(exit_while_stopping_is_final),
		cmocka_unit_test(cancel_stops_a_pending_restart),
		cmocka_unit_test(spawn_failure_backs_off),
		cmocka_unit_test(status_json_shape),
		cmocka_unit_test(names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
