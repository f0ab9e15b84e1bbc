/*
 * config_value.c - the syntaxes of scalar config values: strict integers,
 * "${NAME}" references, paths joined to a folder, "host:port" and ZeroMQ
 * endpoints, and whether two bound addresses overlap. Pure functions with
 * no YAML and no global state; config.c turns their `why` into
 * "FILE:LINE: KEY: why".
 */
#include "core/config_value.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

const char *conf_echo(char *buf, size_t len, const char *s)
{
	size_t i = 0;

	for (; s[i] && i < CONF_ECHO_MAX && i + 4 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	if (s[i] && i + 4 <= len)
		memcpy(buf + i, "...", 4);
	return buf;
}

int conf_parse_ll(const char *s, long long *out)
{
	char *end = NULL;
	long long v;

	if (!*s || !(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
		return GW_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end)
		return GW_EINVAL;
	if (errno == ERANGE)
		return GW_ETOOBIG;
	*out = v;
	return GW_OK;
}

int conf_env_ref(const char *s, char *name, size_t namelen, bool *is_ref)
{
	size_t n;

	*is_ref = false;
	if (!strstr(s, "${"))
		return GW_OK;
	if (strncmp(s, "${", 2) != 0)
		return GW_ECONFIG;
	n = strspn(s + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
	if (n == 0 || n >= namelen || strcmp(s + 2 + n, "}") != 0 || (s[2] >= '0' && s[2] <= '9'))
		return GW_ECONFIG;
	memcpy(name, s + 2, n);
	name[n] = '\0';
	*is_ref = true;
	return GW_OK;
}

char *conf_join_path(const char *base, const char *rel)
{
	size_t n;
	char *out;

	if (rel[0] == '/')
		return strdup(rel);
	while (rel[0] == '.' && rel[1] == '/') {
		rel += 2;
		rel += strspn(rel, "/");
	}
	if (strcmp(rel, ".") == 0)
		rel = "";
	n = strlen(base) + strlen(rel) + 2;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s%s%s", base, *rel && strcmp(base, "/") ? "/" : "", rel);
	return out;
}

int conf_split_host_port(const char *s, char *host, size_t hostlen, int *port, bool *v6,
			   char *why, size_t whylen)
{
	const char *h = s, *p, *colon;
	long long v;
	char q[64];
	int prc;

	*v6 = s[0] == '[';
	if (*v6) {
		h = s + 1;
		colon = strchr(h, ']');
		if (!colon || colon[1] != ':')
			goto bad;
		p = colon + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			goto bad;
		if (memchr(s, ':', (size_t)(colon - s))) {
			snprintf(why, whylen, "an IPv6 address is written [address]:port");
			return GW_ECONFIG;
		}
		p = colon + 1;
	}
	if (colon == h || (size_t)(colon - h) >= hostlen) {
		snprintf(why, whylen, "host must be 1 to %zu characters", hostlen - 1);
		return GW_ECONFIG;
	}
	memcpy(host, h, (size_t)(colon - h));
	host[colon - h] = '\0';
	prc = conf_parse_ll(p, &v);
	if (prc == GW_EINVAL) {
		snprintf(why, whylen, "port \"%s\" is not a number", conf_echo(q, sizeof(q), p));
		return GW_ECONFIG;
	}
	if (prc != GW_OK || v < 1 || v > 65535) {
		snprintf(why, whylen, "port %s out of range 1..65535", conf_echo(q, sizeof(q), p));
		return GW_ECONFIG;
	}
	*port = (int)v;
	return GW_OK;
bad:
	snprintf(why, whylen, "\"%s\" is not host:port or [v6]:port", conf_echo(q, sizeof(q), s));
	return GW_ECONFIG;
}

int conf_listen_parse(const char *s, struct conf_listen *out, char *why, size_t whylen)
{
	unsigned char bin[16];
	char q[64];
	bool v6;

	memset(out, 0, sizeof(*out));
	if (conf_split_host_port(s, out->host, sizeof(out->host), &out->port, &v6, why, whylen))
		return GW_ECONFIG;
	if (!v6 && strcmp(out->host, "localhost") == 0)
		return GW_OK;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, out->host, bin) != 1) {
		snprintf(why, whylen, "host \"%s\" must be a numeric %s address or localhost",
			 conf_echo(q, sizeof(q), out->host), v6 ? "IPv6" : "IPv4");
		return GW_ECONFIG;
	}
	return GW_OK;
}

int conf_endpoint_check(const char *s, char *why, size_t whylen)
{
	char host[256], q[64];
	bool v6;
	int port;

	if (strncmp(s, "tcp://", 6) == 0)
		return conf_split_host_port(s + 6, host, sizeof(host), &port, &v6, why, whylen);
	if ((strncmp(s, "ipc://", 6) == 0 && s[6]) || (strncmp(s, "inproc://", 9) == 0 && s[9]))
		return GW_OK;
	snprintf(why, whylen,
		 "\"%s\" is not a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)",
		 conf_echo(q, sizeof(q), s));
	return GW_ECONFIG;
}

/* host_canon - 16 comparable bytes for a numeric host or localhost; false for a name. */
static bool host_canon(const char *host, unsigned char out[16])
{
	memset(out, 0, 16);
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, out) == 1)
		return true;
	return inet_pton(AF_INET6, host, out) == 1;
}

static bool host_wild(const char *host)
{
	return strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

bool conf_listen_overlap(const struct conf_listen *a, const struct conf_listen *b)
{
	unsigned char x[16], y[16];

	if (a->port == 0 || a->port != b->port)
		return false;
	if (host_wild(a->host) || host_wild(b->host))
		return true;
	if (host_canon(a->host, x) && host_canon(b->host, y))
		return memcmp(x, y, 16) == 0;
	return strcmp(a->host, b->host) == 0;
}

void conf_listen_format(char *buf, size_t len, const struct conf_listen *l)
{
	snprintf(buf, len, strchr(l->host, ':') ? "[%s]:%d" : "%s:%d", l->host, l->port);
}
