/*
 * bus.c - CURVE keys and socket set-up for the router's sockets (bus.h).
 */
#include "core/bus.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "core/err.h"
#include "core/util.h"

#define BUS_FILE_MAX (64u * 1024u)   /* a key file */
#define BUS_LIST_MAX (4u * 1024u * 1024u) /* an allow-list file */
#define BUS_NAME_MAX 64

/* z85_ok - 40 characters of the Z85 alphabet that decode to 32 bytes. */
static int z85_ok(const char *s, size_t len)
{
	unsigned char raw[32];
	char buf[BUS_Z85_LEN + 1];

	if (len != BUS_Z85_LEN)
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return zmq_z85_decode(raw, buf) != NULL;
}

/* find_key - the quoted Z85 after `name = ` in `text`, or a bare key line
 * (40 characters up to a blank; Z85 has '#' in its alphabet, so a comment
 * starts a line) when name is NULL; copied into out. 1 when found. */
static int find_key(const char *text, const char *name, char out[BUS_Z85_LEN + 1])
{
	const char *p = text;

	while (p && *p) {
		const char *eol = strchr(p, '\n'), *q = p;
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		while (q < p + len && (*q == ' ' || *q == '\t'))
			q++;
		if (name && strncmp(q, name, strlen(name)) == 0) {
			const char *a = memchr(q, '"', len - (size_t)(q - p)), *b;

			b = a ? memchr(a + 1, '"', len - (size_t)(a + 1 - p)) : NULL;
			if (b && z85_ok(a + 1, (size_t)(b - a - 1))) {
				memcpy(out, a + 1, BUS_Z85_LEN);
				out[BUS_Z85_LEN] = '\0';
				return 1;
			}
		} else if (!name && *q != '#' && z85_ok(q, strcspn(q, " \t\r\n"))) {
			memcpy(out, q, BUS_Z85_LEN);
			out[BUS_Z85_LEN] = '\0';
			return 1;
		}
		p = eol ? eol + 1 : NULL;
	}
	return 0;
}

int bus_key_read(const char *path, struct bus_key *k, char *why, size_t whylen)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(k, 0, sizeof(*k));
	rc = gw_read_file(path, BUS_FILE_MAX, &text, &len);
	if (rc != GW_OK) {
		snprintf(why, whylen, "cannot read the key file %s: %s", path,
			 rc == GW_EIO ? strerror(errno) : gw_strerror(rc));
		return GW_EIO;
	}
	if (find_key(text, "secret-key", k->sec)) {
		if (zmq_curve_public(k->pub, k->sec) != 0)
			k->sec[0] = '\0';
	}
	if (!k->sec[0] && !find_key(text, "public-key", k->pub) && !find_key(text, NULL, k->pub))
		rc = GW_EPROTO;
	explicit_bzero(text, len);
	free(text);
	if (rc)
		snprintf(why, whylen, "%s holds no CURVE key (gatewayctl keys generate NAME "
			 "writes NAME.key and NAME.pub)", path);
	return rc;
}

/* write_new - creates `path` (refusing an existing file) with `text`. */
static int write_new(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	int rc;

	if (fd < 0)
		return errno == EEXIST ? GW_EEXIST : GW_EIO;
	rc = gw_write_all(fd, text, strlen(text));
	if (rc == GW_OK && fsync(fd) != 0)
		rc = GW_EIO;
	close(fd);
	return rc;
}

int bus_key_generate(const char *dir, const char *name, struct bus_key *k, char *why,
		     size_t whylen)
{
	char path[4096], text[512];
	int rc;

	if (!name[0] || strchr(name, '/') || strlen(name) > BUS_NAME_MAX) {
		snprintf(why, whylen, "a key name is 1 to %d characters without '/'", BUS_NAME_MAX);
		return GW_EINVAL;
	}
	if (!zmq_has("curve") || zmq_curve_keypair(k->pub, k->sec) != 0) {
		snprintf(why, whylen, "this libzmq has no CURVE support");
		return GW_EINVAL;
	}
	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	snprintf(text, sizeof(text), "# Omnigate CURVE key \"%s\": secret, keep it private\n"
		 "metadata\ncurve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
		 name, k->pub, k->sec);
	rc = write_new(path, text, 0600);
	explicit_bzero(text, sizeof(text));
	if (rc == GW_OK) {
		snprintf(path, sizeof(path), "%s/%s.pub", dir, name);
		snprintf(text, sizeof(text), "# Omnigate CURVE public key \"%s\"\n"
			 "metadata\ncurve\n    public-key = \"%s\"\n", name, k->pub);
		rc = write_new(path, text, 0644);
	}
	if (rc)
		snprintf(why, whylen, "%s: %s", path, rc == GW_EEXIST ? "exists already (not "
			 "overwritten)" : strerror(errno));
	return rc;
}

/* list_line - one line of an allow-list: a key into *k (1), blank (0),
 * or not a key (-1). */
static int list_line(const char *line, size_t len, struct bus_key *k)
{
	char buf[512];

	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (!len || *line == '#' || len >= sizeof(buf))
		return len >= sizeof(buf) ? -1 : 0;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (strcmp(buf, "metadata") == 0 || strcmp(buf, "curve") == 0)
		return 0; /* the section lines of a .pub file */
	memset(k, 0, sizeof(*k));
	return find_key(buf, "public-key", k->pub) || find_key(buf, NULL, k->pub) ? 1 : -1;
}

/* parse_list - the keys of `text` into a new array. */
static int parse_list(const char *text, struct bus_key **out, size_t *n, char *why,
		      size_t whylen)
{
	size_t cap = 0, lineno = 0;
	const char *p = text;
	struct bus_key k, *v = NULL;

	*n = 0;
	for (; p && *p; lineno++) {
		const char *eol = strchr(p, '\n');
		int r = list_line(p, eol ? (size_t)(eol - p) : strlen(p), &k);

		p = eol ? eol + 1 : NULL;
		if (r < 0) {
			snprintf(why, whylen, "line %zu is not a CURVE public key", lineno + 1);
			free(v);
			return GW_EPROTO;
		}
		if (r == 0)
			continue;
		if (*n == cap) {
			struct bus_key *nv = realloc(v, (cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				free(v);
				return GW_ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 8;
		}
		v[(*n)++] = k;
	}
	*out = v;
	return GW_OK;
}

int bus_keys_load(const char *path, struct bus_key **out, size_t *n, char *why, size_t whylen)
{
	char *text = NULL, inner[128] = "";
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!path)
		return GW_OK;
	rc = gw_read_file(path, BUS_LIST_MAX, &text, &len);
	if (rc != GW_OK) {
		snprintf(why, whylen, "cannot read %s: %s", path,
			 rc == GW_EIO ? strerror(errno) : gw_strerror(rc));
		return rc == GW_ENOMEM ? rc : GW_EIO;
	}
	rc = parse_list(text, out, n, inner, sizeof(inner));
	free(text);
	if (rc == GW_EPROTO)
		snprintf(why, whylen, "%s: %s", path, inner);
	return rc;
}

int bus_server_setup(void *sock, const struct bus_key *k, const char *domain)
{
	int one = 1;

	if (zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k->sec, BUS_Z85_LEN) != 0)
		return GW_EBUS;
	return GW_OK;
}

int bus_uses_curve(const struct gw_config_router *r, const char *endpoint)
{
	return (r->curve_key || r->curve_client_key || r->curve_server_public) &&
	       strncmp(endpoint, "tcp://", 6) == 0;
}

/*
 * client_keys - the pair a client proves (curve_client_key, else the
 * router's own curve_key) into *k, and the router's public key into
 * *server (curve_server_public, else curve_key's public half).
 */
static int client_keys(const struct gw_config_router *r, struct bus_key *k,
		       struct bus_key *server, char *why, size_t whylen)
{
	const char *own = r->curve_client_key ? r->curve_client_key : r->curve_key;
	const char *srv = r->curve_server_public ? r->curve_server_public : r->curve_key;
	int rc = GW_OK;

	if (!own) {
		snprintf(why, whylen, "no CURVE client key: set router.curve_client_key, or give "
			 "gatewayctl --curve-key FILE");
		return GW_ECONFIG;
	}
	rc = bus_key_read(own, k, why, whylen);

	if (rc == GW_OK && !k->sec[0]) {
		snprintf(why, whylen, "%s holds only a public key: router.%s names a .key file "
			 "(both halves)", own, r->curve_client_key ? "curve_client_key" : "curve_key");
		rc = GW_EPROTO;
	}
	if (rc == GW_OK && !srv) {
		snprintf(why, whylen, "router.curve_client_key needs router.curve_server_public "
			 "(the router's .pub file) on a host without router.curve_key");
		rc = GW_ECONFIG;
	}
	if (rc == GW_OK && srv == own)
		*server = *k;
	else if (rc == GW_OK)
		rc = bus_key_read(srv, server, why, whylen);
	explicit_bzero(server->sec, sizeof(server->sec)); /* only its public half is used */
	return rc;
}

int bus_client_setup(void *sock, const struct gw_config_router *r, const char *endpoint,
		     char *why, size_t whylen)
{
	struct bus_key k, server;
	int rc;

	if (!bus_uses_curve(r, endpoint))
		return GW_OK;
	memset(&k, 0, sizeof(k));
	memset(&server, 0, sizeof(server));
	rc = client_keys(r, &k, &server, why, whylen);
	if (rc == GW_OK &&
	    (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server.pub, BUS_Z85_LEN) != 0 ||
	     zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, k.pub, BUS_Z85_LEN) != 0 ||
	     zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k.sec, BUS_Z85_LEN) != 0)) {
		snprintf(why, whylen, "cannot set up CURVE: %s", zmq_strerror(errno));
		rc = GW_EBUS;
	}
	explicit_bzero(&k, sizeof(k));
	return rc;
}
