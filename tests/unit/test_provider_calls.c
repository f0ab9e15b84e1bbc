/*
 * test_provider_calls.c - the histograms of the calls to the provider on
 * the way in (connectors/provider_calls.c): the status file's JSON, the
 * reply histogram's buckets, observations from several threads.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "connectors/provider_calls.h"
#include "connectors/sender.h"

#define THREADS 4
#define PER_THREAD 1000

static void *observe_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++)
		provider_call_observe(PROVIDER_CALL_MEDIA_DOWNLOAD, 0.2);
	return NULL;
}

static void test_json_and_threads(void **state)
{
	static const double le[] = SENDER_LATENCY_LE;
	pthread_t t[THREADS];
	json_t *doc, *h, *dl;

	(void)state;
	doc = provider_calls_json();
	assert_non_null(doc);
	assert_int_equal(json_object_size(doc), 0); /* nothing observed: no kind */
	json_decref(doc);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, observe_many, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	provider_call_observe(PROVIDER_CALL_IMAP_FETCH, 3);
	provider_call_observe(PROVIDER_CALL_KINDS, 1); /* out of range: ignored */
	doc = provider_calls_json();
	assert_non_null(doc);
	assert_int_equal(json_object_size(doc), 2);
	assert_null(json_object_get(doc, "telegram_get_updates"));
	dl = json_object_get(doc, "media_download");
	assert_int_equal(json_integer_value(json_object_get(dl, "count")), THREADS * PER_THREAD);
	assert_int_equal(json_array_size(json_object_get(dl, "le")), sizeof(le) / sizeof(le[0]));
	/* 0.2 s: in the 0.25 bucket (the third), none below. */
	assert_int_equal(json_integer_value(json_array_get(json_object_get(dl, "buckets"), 1)), 0);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(dl, "buckets"), 2)),
			 THREADS * PER_THREAD);
	h = json_object_get(doc, "imap_fetch");
	assert_int_equal(json_integer_value(json_object_get(h, "count")), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(h, "buckets"), 6)), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(h, "buckets"), 5)), 0);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_and_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
