/*
 * supervisor.c - the child state machine and the status document of gatewayd
 * (see supervisor.h). Pure: no system calls, times come from the caller.
 */
#include "gateway/supervisor.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "core/err.h"

static const char *const state_names[] = {
	[SUP_STOPPED] = "stopped",
	[SUP_RUNNING] = "running",
	[SUP_BACKOFF] = "backoff",
	[SUP_DISABLED] = "disabled",
};

const char *sup_state_name(enum sup_state state)
{
	if ((unsigned)state >= sizeof(state_names) / sizeof(state_names[0]))
		return "?";
	return state_names[state];
}

const char *sup_kind_name(enum sup_kind kind)
{
	switch (kind) {
	case SUP_KIND_ROUTER:
		return "router";
	case SUP_KIND_NATS:
		return "nats";
	case SUP_KIND_INTEGRATION:
		return "integration";
	case SUP_KIND_METRICS:
		return "metrics";
	default:
		return "connector";
	}
}

int64_t sup_backoff_ms(const struct sup_policy *p, unsigned failures)
{
	int64_t delay = p->backoff_min_ms > 0 ? p->backoff_min_ms : 0;
	int64_t max = p->backoff_max_ms > delay ? p->backoff_max_ms : delay;

	/* Double one step at a time and stop at max: no shift can overflow. */
	for (unsigned i = 1; i < failures && delay < max; i++)
		delay = delay > max / 2 ? max : delay * 2;
	return delay < max ? delay : max;
}

/* Copies `src` into `dst`; GW_EINVAL when it does not fit whole. */
static int copy_exact(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size)
		return GW_EINVAL;
	memcpy(dst, src, len + 1);
	return GW_OK;
}

int sup_child_init(struct sup_child *c, enum sup_kind kind, const char *name,
		   const char *type)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->state = SUP_STOPPED;
	if (!name || !*name || copy_exact(c->name, sizeof(c->name), name) != GW_OK)
		return GW_EINVAL;
	if (type && copy_exact(c->type, sizeof(c->type), type) != GW_OK)
		return GW_EINVAL;
	return GW_OK;
}

void sup_child_disable(struct sup_child *c, const char *reason)
{
	c->state = SUP_DISABLED;
	c->pid = 0;
	snprintf(c->reason, sizeof(c->reason), "%s", reason ? reason : "disabled");
}

void sup_child_started(struct sup_child *c, pid_t pid, int64_t mono_ms, int64_t wall_ms)
{
	if (c->starts > 0)
		c->restarts++;
	c->starts++;
	c->state = SUP_RUNNING;
	c->pid = pid;
	c->started_mono_ms = mono_ms;
	c->started_at_ms = wall_ms;
	c->reason[0] = '\0';
}

/* Counts one more failure and schedules the restart. */
static enum sup_state schedule_restart(struct sup_child *c, const struct sup_policy *p,
				       int64_t mono_ms)
{
	c->failures++;
	c->restart_delay_ms = sup_backoff_ms(p, c->failures);
	c->restart_due_ms = mono_ms + c->restart_delay_ms;
	c->state = SUP_BACKOFF;
	return c->state;
}

enum sup_state sup_child_spawn_failed(struct sup_child *c, const struct sup_policy *p,
				      const char *why, int64_t mono_ms, int stopping)
{
	c->pid = 0;
	snprintf(c->reason, sizeof(c->reason), "%s", why ? why : "spawn failed");
	if (stopping) {
		c->state = SUP_STOPPED;
		return c->state;
	}
	return schedule_restart(c, p, mono_ms);
}

void sup_format_exit(int wstatus, char *buf, size_t len)
{
	if (WIFEXITED(wstatus))
		snprintf(buf, len, "code %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(buf, len, "signal %d", WTERMSIG(wstatus));
	else
		snprintf(buf, len, "status %d", wstatus);
}

enum sup_state sup_child_exited(struct sup_child *c, const struct sup_policy *p, int wstatus,
				int64_t mono_ms, int stopping)
{
	sup_format_exit(wstatus, c->last_exit, sizeof(c->last_exit));
	c->pid = 0;
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == SUP_EXIT_DISABLED) {
		sup_child_disable(c, "exited 78: see log");
		return c->state;
	}
	if (stopping) {
		c->state = SUP_STOPPED;
		return c->state;
	}
	/* A run that lasted stable_ms was healthy: this failure starts anew. */
	if (mono_ms - c->started_mono_ms >= p->stable_ms)
		c->failures = 0;
	return schedule_restart(c, p, mono_ms);
}

int sup_child_due(const struct sup_child *c, int64_t mono_ms)
{
	return c->state == SUP_BACKOFF && mono_ms >= c->restart_due_ms;
}

void sup_child_cancel(struct sup_child *c)
{
	if (c->state == SUP_BACKOFF)
		c->state = SUP_STOPPED;
}

/* Sets key to a string, or to null for NULL or "". Returns -1 on ENOMEM. */
static int set_str_or_null(json_t *obj, const char *key, const char *s)
{
	json_t *v = s && *s ? json_string(s) : json_null();

	return json_object_set_new(obj, key, v);
}

static json_t *child_json(const struct sup_child *c)
{
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "name", json_string(c->name));
	bad |= json_object_set_new(o, "kind", json_string(sup_kind_name(c->kind)));
	if (c->kind == SUP_KIND_CONNECTOR)
		bad |= json_object_set_new(o, "type", json_string(c->type));
	bad |= json_object_set_new(o, "pid", json_integer(c->pid));
	bad |= json_object_set_new(o, "state", json_string(sup_state_name(c->state)));
	bad |= json_object_set_new(o, "restarts", json_integer((json_int_t)c->restarts));
	bad |= json_object_set_new(o, "started_at", json_integer(c->started_at_ms));
	bad |= set_str_or_null(o, "last_exit", c->last_exit);
	bad |= set_str_or_null(o, "reason", c->reason);
	if (c->state == SUP_BACKOFF)
		bad |= json_object_set_new(o, "restart_in_ms", json_integer(c->restart_delay_ms));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *sup_status_json(const struct sup_status_info *info, const struct sup_child *children,
			size_t n)
{
	json_t *doc = json_object(), *arr = json_array();
	int bad = !doc || !arr;

	for (size_t i = 0; !bad && i < n; i++)
		bad |= json_array_append_new(arr, child_json(&children[i]));
	if (bad)
		goto out;
	bad |= json_object_set_new(doc, "process", json_string("gatewayd"));
	bad |= json_object_set_new(doc, "pid", json_integer(info->pid));
	bad |= json_object_set_new(doc, "started_at", json_integer(info->started_at_ms));
	bad |= json_object_set_new(doc, "updated_at", json_integer(info->updated_at_ms));
	bad |= set_str_or_null(doc, "config", info->config_path);
	bad |= set_str_or_null(doc, "state_dir", info->state_dir);
	bad |= json_object_set_new(doc, "stopping", json_boolean(info->stopping));
	bad |= json_object_set(doc, "children", arr);
out:
	json_decref(arr);
	if (bad) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}
