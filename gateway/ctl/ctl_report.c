/*
 * ctl_report.c - `gatewayctl report --from DATE --to DATE --by DIM`: the
 * helpdesk figures of gateway/report/report.h, computed here from the
 * store's event log opened read-only beside the router (docs/reports.md).
 */
#include <stdio.h>

#include "core/err.h"
#include "gateway/ctl/ctl.h"
#include "gateway/report/report.h"
#include "store/store.h"

#define DAY_MS 86400000LL

/* report_window - [from 00:00, the day after to 00:00) in UTC. */
static int report_window(const struct ctl *ctl, int64_t *from, int64_t *to)
{
	if (report_date_parse(ctl->from_s, from) != GW_OK) {
		fprintf(stderr, "gatewayctl: --from: '%s' is not a date YYYY-MM-DD\n", ctl->from_s);
		return GW_EINVAL;
	}
	if (report_date_parse(ctl->to_s, to) != GW_OK) {
		fprintf(stderr, "gatewayctl: --to: '%s' is not a date YYYY-MM-DD\n", ctl->to_s);
		return GW_EINVAL;
	}
	*to += DAY_MS;
	if (*to <= *from) {
		fprintf(stderr, "gatewayctl: --to is before --from\n");
		return GW_EINVAL;
	}
	return GW_OK;
}

static int report_print(const struct ctl *ctl, struct report *r)
{
	json_t *j;
	int rc;

	if (ctl->csv)
		return report_write_csv(r, stdout);
	if (!ctl->json)
		return report_write_table(r, stdout);
	j = report_json(r);
	if (!j)
		return GW_ENOMEM;
	rc = ctl_print_json(j);
	json_decref(j);
	return rc ? GW_EIO : GW_OK;
}

int ctl_cmd_report(struct ctl *ctl)
{
	enum report_by by = REPORT_BY_DAY;
	struct report *r = NULL;
	struct store *st = NULL;
	char dir[4096];
	int64_t from, to;
	int rc, code = CTL_EXIT_USAGE;

	if (ctl->by && report_by_parse(ctl->by, &by) != GW_OK) {
		fprintf(stderr, "gatewayctl: --by: one of channel, queue, agent, day, tag\n");
		goto out;
	}
	if (report_window(ctl, &from, &to) != GW_OK)
		goto out;
	code = CTL_EXIT_ERROR;
	snprintf(dir, sizeof(dir), "%s/store", ctl->state_dir);
	rc = store_open_readonly(dir, &st);
	if (rc) {
		fprintf(stderr, "gatewayctl: cannot open the store in %s: %s\n", dir,
			gw_strerror(rc));
		goto out;
	}
	rc = report_create(ctl->routing, from, to, by, &r);
	if (rc == GW_OK)
		rc = report_from_store(r, st);
	if (rc == GW_OK)
		rc = report_print(ctl, r);
	if (rc) {
		fprintf(stderr, "gatewayctl: report: %s\n", gw_strerror(rc));
		goto out;
	}
	code = CTL_EXIT_OK;
out:
	report_free(r);
	store_close(st);
	return code;
}
