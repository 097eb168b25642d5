/*
 * NAME
 *	storebench - how many documents per second the store commits
 * SUMMARY
 *	storebench DB [N]
 *	Puts N (default 2000) distinct 3-page documents of ~6 KB text, each
 *	in its own durable transaction (as the writer does), and prints
 *	"N documents in S s: R documents/minute".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/store.h"

int main(int argc, char **argv)
{
	static const struct store_timing t[] = { { "extract", 5.0 }, { "normalize", 1.0 } };
	struct dk_err err = DK_ERR_INIT;
	struct store st;
	struct store_doc d;
	struct timespec a, b;
	size_t starts[3];
	char text[6200], id[65], claim[32], name[32];
	long n = argc > 2 ? atol(argv[2]) : 2000;
	int64_t run;
	double sec;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: storebench DB [N]\n");
		return 64;
	}
	for (size_t i = 0; i < sizeof text - 1; i++)
		text[i] = "Sehr geehrte Damen und Herren, anbei mein Antrag. "[i % 50];
	text[sizeof text - 1] = 0;
	if (store_open(&st, argv[1], STORE_CREATE, &err) || store_run_begin(&st, "bench", &run, &err)) {
		fprintf(stderr, "storebench: %s\n", err.msg);
		return 74;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		snprintf(claim, sizeof claim, "bench-%ld", i);
		snprintf(name, sizeof name, "doc-%ld.pdf", i);
		memcpy(text, claim, strlen(claim));	/* distinct bytes, distinct ids */
		store_sha256_hex(text, sizeof text - 1, id);
		store_doc_init(&d);
		d.id = id;
		d.claim = claim;
		d.source_name = name;
		d.run_id = run;
		d.mime = "application/pdf";
		d.format = "pdf";
		d.text = text;
		d.text_len = sizeof text - 1;
		starts[0] = 0, starts[1] = 2000, starts[2] = 4000;
		d.pages = 3;
		d.page_start = starts;
		d.timings = t;
		d.n_timings = 2;
		if (store_put_document(&st, &d, NULL, &err) != 0) {
			fprintf(stderr, "storebench: %s\n", err.msg);
			return 74;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	sec = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	store_run_end(&st, run, NULL, &err);
	store_close(&st);
	printf("%ld documents in %.2f s: %.0f documents/minute\n", n, sec, n / sec * 60);
	return 0;
}
