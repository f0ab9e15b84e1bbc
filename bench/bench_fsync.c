/*
 * bench_fsync.c - bench-fsync: what one durable commit costs on the disk
 * under a folder, the floor under every group commit of the gateway.
 *
 *   fdatasync   append 256 bytes to a file, fdatasync it (N times)
 *   lmdb        one LMDB write transaction of one 256-byte record, default
 *               sync mode, as the spool and the router's store commit
 *
 * usage: bench-fsync [-n N] DIR    (DIR must exist; files are removed after)
 * Prints p50/p99/max and commits/s for each.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#define REC_BYTES 256
#define MAX_N 100000

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void summarize(const char *name, int64_t *v, long n, int64_t total_us)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	printf("  %-10s p50 %.3f ms  p99 %.3f ms  max %.3f ms  = %.0f commits/s (%ld)\n", name,
	       v[(n - 1) / 2] / 1e3, v[(long)ceil(0.99 * (double)n) - 1] / 1e3, v[n - 1] / 1e3,
	       total_us > 0 ? (double)n * 1e6 / (double)total_us : 0, n);
}

static int run_fdatasync(const char *dir, int64_t *v, long n)
{
	char path[4096], rec[REC_BYTES];
	int64_t t0 = now_us();
	int fd, rc = -1;
	long i;

	memset(rec, 'x', sizeof(rec));
	snprintf(path, sizeof(path), "%s/bench-fsync.dat", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (fd < 0) {
		fprintf(stderr, "bench-fsync: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		int64_t t = now_us();

		if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) || fdatasync(fd))
			goto out;
		v[i] = now_us() - t;
	}
	summarize("fdatasync", v, n, now_us() - t0);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench-fsync: %s: %s\n", path, strerror(errno));
	close(fd);
	unlink(path);
	return rc;
}

static int lmdb_commit_one(MDB_env *env, MDB_dbi dbi, uint64_t key, char *rec)
{
	MDB_txn *txn = NULL;
	MDB_val k = {sizeof(key), &key}, val = {REC_BYTES, rec};
	int rc = mdb_txn_begin(env, NULL, 0, &txn);

	if (rc == 0)
		rc = mdb_put(txn, dbi, &k, &val, MDB_APPEND);
	if (rc == 0)
		return mdb_txn_commit(txn);
	mdb_txn_abort(txn);
	return rc;
}

static int run_lmdb(const char *dir, int64_t *v, long n)
{
	char path[4096], file[4200], rec[REC_BYTES];
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	int64_t t0;
	int rc;

	memset(rec, 'x', sizeof(rec));
	snprintf(path, sizeof(path), "%s/bench-fsync.lmdb", dir);
	if (mkdir(path, 0700) && errno != EEXIST) {
		fprintf(stderr, "bench-fsync: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_mapsize(env, 256u << 20);
	if (rc == 0)
		rc = mdb_env_open(env, path, MDB_NOTLS, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, NULL, MDB_INTEGERKEY, &dbi);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	t0 = now_us();
	for (long i = 0; rc == 0 && i < n; i++) {
		int64_t t = now_us();

		/* Big-endian-free: MDB_INTEGERKEY keys sort natively. */
		rc = lmdb_commit_one(env, dbi, (uint64_t)i + 1, rec);
		v[i] = now_us() - t;
	}
	if (rc == 0)
		summarize("lmdb", v, n, now_us() - t0);
	else
		fprintf(stderr, "bench-fsync: lmdb: %s\n", mdb_strerror(rc));
	mdb_env_close(env);
	snprintf(file, sizeof(file), "%s/data.mdb", path);
	unlink(file);
	snprintf(file, sizeof(file), "%s/lock.mdb", path);
	unlink(file);
	rmdir(path);
	return rc == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	long n = 1000;
	int64_t *v;
	int rc;
	int c;

	while ((c = getopt(argc, argv, "n:")) != -1) {
		char *end = NULL;

		errno = 0;
		n = c == 'n' ? strtol(optarg, &end, 10) : -1;
		if (c != 'n' || errno || end == optarg || *end || n < 1 || n > MAX_N) {
			fprintf(stderr, "usage: bench-fsync [-n 1..%d] DIR\n", MAX_N);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: bench-fsync [-n 1..%d] DIR\n", MAX_N);
		return 2;
	}
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return 2;
	printf("bench-fsync: %ld commits of %d bytes under %s\n", n, REC_BYTES, argv[optind]);
	rc = run_fdatasync(argv[optind], v, n) || run_lmdb(argv[optind], v, n);
	free(v);
	return rc ? 1 : 0;
}
