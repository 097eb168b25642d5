/*
 * NAME
 *	taxonomy - the document classes and their descriptions per language
 * SUMMARY
 *	taxonomy_load() reads a TSV of "label<TAB>language<TAB>description"
 *	lines ('#' comments); the default file is DATADIR/prompts/taxonomy.tsv.
 *	Labels keep the order of their first appearance.
 * OWNERSHIP
 *	struct taxonomy owns all strings; taxonomy_release() frees them.
 * THREADS
 *	Read-only after loading.
 * ERRORS
 *	DK_ENOTFOUND, DK_EIO, DK_EFORMAT (line number named), DK_ENOMEM.
 */
#ifndef DK_TAXONOMY_H
#define DK_TAXONOMY_H

#include <stddef.h>

#include "util/dk_err.h"

struct taxonomy_entry {
	char *label;
	char *lang;
	char *description;
};

struct taxonomy {
	struct taxonomy_entry *entries;
	size_t n_entries;
	char **labels;		/* distinct labels, in order of appearance */
	size_t n_labels;
};

/* taxonomy_load - read path, or the default file when path is NULL */
int taxonomy_load(struct taxonomy *t, const char *path, struct dk_err *err);
void taxonomy_release(struct taxonomy *t);
/* taxonomy_label_index - index into t->labels, or -1 */
int taxonomy_label_index(const struct taxonomy *t, const char *label);

#endif
