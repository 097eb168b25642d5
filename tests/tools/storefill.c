/*
 * NAME
 *	storefill - build a small results database for the store command tests
 * SUMMARY
 *	storefill DB
 *	Stores, through store_put_document(), the cases export, list and show
 *	must handle: a two-page PDF with later-stage results (language,
 *	classification, entities) and a caseworker review (store_put_review),
 *	a failed encrypted
 *	PDF, a duplicate copy, an e-mail with an attachment, a name with a
 *	newline and invalid UTF-8, a comma and a quote (CSV quoting).
 *	Prints the ids, one per line, in the order stored.
 */
#include <stdio.h>
#include <string.h>

#include "pipeline/store.h"

static int put(struct store *st, struct store_doc *d, const char *seed, char id[65])
{
	struct dk_err err = DK_ERR_INIT;

	store_sha256_hex(seed, strlen(seed), id);
	d->id = id;
	if (store_put_document(st, d, NULL, &err) != 0) {
		fprintf(stderr, "storefill: %s\n", err.msg);
		return 1;
	}
	printf("%s\n", id);
	return 0;
}

/* later_stages - the results a pipeline run would store with the document */
static void later_stages(struct store_results *r, struct store_entity *e)
{
	store_results_init(r);
	r->language = "de";
	r->language_confidence = 0.99;
	r->language_method = "cld2";
	r->label = "invoice";
	r->label_confidence = 0.93;
	r->label_method = "llm";
	e->type = "date";
	e->text = "12. März 2025";
	e->value = "2025-03-12";
	e->start = 0;
	e->end = 14;
	e->method = "rules";
	e->confidence = 1.0;
	r->entities = e;
	r->n_entities = 1;
	r->set_entities = 1;
}

static int review(struct store *st, const char *id)
{
	struct dk_err err = DK_ERR_INIT;

	if (store_put_review(st, id, "classification", "complaint", "anna", NULL, NULL, &err)) {
		fprintf(stderr, "storefill: %s\n", err.msg);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char text[] = "12. März 2025\n\nRechnung, Seite zwei";
	static const size_t starts[] = { 0, 16 };
	struct dk_err err = DK_ERR_INIT;
	struct store st;
	struct store_doc d;
	struct store_results r;
	struct store_entity e;
	char a[65], b[65], m[65], c[65], o[65];
	int bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: storefill DB\n");
		return 64;
	}
	if (store_open(&st, argv[1], STORE_CREATE, &err) != 0) {
		fprintf(stderr, "storefill: %s\n", err.msg);
		return 74;
	}
	store_doc_init(&d);
	d.claim = "k1";
	d.source_name = "rechnung.pdf";
	d.received_at = "2025-03-12T09:30:00.000Z";
	d.mime = "application/pdf";
	d.format = "pdf";
	d.text = text;
	d.text_len = strlen(text);
	d.pages = 2;
	d.page_start = starts;
	later_stages(&r, &e);
	d.results = &r;
	bad |= put(&st, &d, "pdf", a);
	bad |= review(&st, a);

	store_doc_init(&d);
	d.claim = "k2";
	d.source_name = "secret.pdf";
	d.received_at = "2025-03-12T10:00:00.000Z";
	d.status = STORE_FAILED;
	d.error_code = "encrypted_pdf";
	d.error_message = "pdf 'secret.pdf' is encrypted";
	d.error_stage = "extract";
	d.mime = "application/pdf";
	d.format = "pdf";
	bad |= put(&st, &d, "encrypted", b);

	store_doc_init(&d);
	d.claim = "k3";
	d.source_name = "rechnung (copy).pdf";
	d.received_at = "2025-03-13T09:00:00.000Z";
	d.text = text;
	d.text_len = strlen(text);
	bad |= put(&st, &d, "pdf", a);	/* a duplicate: prints the same id */

	store_doc_init(&d);
	d.claim = "k4";
	d.source_name = "mail.eml";
	d.received_at = "2025-03-14T09:00:00.000Z";
	d.mime = "message/rfc822";
	d.format = "eml";
	d.text = "Guten Tag, \"anbei\" die Unterlagen.";
	d.text_len = strlen(d.text);
	bad |= put(&st, &d, "mail", m);
	store_doc_init(&d);
	d.source_name = "antrag.txt";
	d.received_at = "2025-03-14T09:00:00.000Z";
	d.parent = m;
	d.mime = "text/plain";
	d.format = "txt";
	d.text = "Antrag";
	d.text_len = 6;
	bad |= put(&st, &d, "attachment", c);

	store_doc_init(&d);
	d.claim = "k5";
	d.source_name = "odd\nname\xff, \"q\".txt";
	d.received_at = "2025-03-15T12:00:00.000+01:00";
	d.mime = "text/plain";
	d.format = "txt";
	d.text = "x";
	d.text_len = 1;
	bad |= put(&st, &d, "odd", o);
	store_close(&st);
	return bad ? 1 : 0;
}
