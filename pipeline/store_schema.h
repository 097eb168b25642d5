/*
 * NAME
 *	store_schema - the SQL migrations built into the binary
 * SUMMARY
 *	store_migrations[i] holds schemas/<file> as a NUL-terminated string,
 *	embedded at build time with the assembler's .incbin, so the .sql
 *	files stay the only source of truth and an installed binary needs no
 *	data files. test_store checks that every embedded text equals its
 *	file (make does not track .incbin inputs: a stale object fails that
 *	test instead of shipping the wrong schema).
 * OWNERSHIP
 *	Static, read-only data.
 * THREADS
 *	Safe.
 */
#ifndef DK_STORE_SCHEMA_H
#define DK_STORE_SCHEMA_H

#include <stddef.h>

struct store_migration {
	int version;		/* PRAGMA user_version after applying it */
	const char *file;	/* path relative to the source tree */
	const char *sql;
};

extern const struct store_migration store_migrations[];
extern const size_t store_n_migrations;

#endif
