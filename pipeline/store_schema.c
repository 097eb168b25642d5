/*
 * NAME
 *	store_schema - the SQL files of schemas/ embedded into the binary
 * DESIGN NOTES
 *	1. Each file is pulled in by .incbin from the source tree (the build
 *	   runs at the top of the tree), followed by one NUL byte, into
 *	   .rodata under a hidden global symbol.
 *	2. Versions are consecutive from 1; store_open() relies on
 *	   store_migrations[i].version == i + 1.
 *	3. Adding a migration: write schemas/NNN_name.sql, add one EMBED line
 *	   and one table row here. Shipped files are never edited.
 */
#include "pipeline/store_schema.h"

#define EMBED(sym, file) __asm__( \
	".pushsection .rodata\n" \
	".globl " #sym "\n" \
	".hidden " #sym "\n" \
	#sym ":\n" \
	".incbin \"" file "\"\n" \
	".byte 0\n" \
	".popsection\n")

EMBED(store_schema_001, "schemas/001_init.sql");
extern const char store_schema_001[];
EMBED(store_schema_002, "schemas/002_views.sql");
extern const char store_schema_002[];
EMBED(store_schema_003, "schemas/003_reviews.sql");
extern const char store_schema_003[];
EMBED(store_schema_004, "schemas/004_llm_stages.sql");
extern const char store_schema_004[];

const struct store_migration store_migrations[] = {
	{ 1, "schemas/001_init.sql", store_schema_001 },
	{ 2, "schemas/002_views.sql", store_schema_002 },
	{ 3, "schemas/003_reviews.sql", store_schema_003 },
	{ 4, "schemas/004_llm_stages.sql", store_schema_004 },
};

const size_t store_n_migrations = sizeof store_migrations / sizeof store_migrations[0];
