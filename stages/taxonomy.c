/*
 * NAME
 *	taxonomy - load the class taxonomy
 * DESIGN NOTES
 *	The file is small and trusted (shipped with docket or written by the
 *	operator), but a malformed line is still reported with its number.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/taxonomy.h"
#include "util/dk_path.h"

int taxonomy_label_index(const struct taxonomy *t, const char *label)
{
	for (size_t i = 0; i < t->n_labels; i++)
		if (strcmp(t->labels[i], label) == 0)
			return (int)i;
	return -1;
}

static int add_entry(struct taxonomy *t, char *line)
{
	char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
	struct taxonomy_entry *e;
	void *p;

	if (tab2 == NULL || tab1 == line || tab2 == tab1 + 1 || tab2[1] == 0)
		return DK_EFORMAT;
	*tab1 = *tab2 = 0;
	if ((p = realloc(t->entries, (t->n_entries + 1) * sizeof *t->entries)) == NULL)
		return DK_ENOMEM;
	t->entries = p;
	e = &t->entries[t->n_entries];
	e->label = strdup(line);
	e->lang = strdup(tab1 + 1);
	e->description = strdup(tab2 + 1);
	t->n_entries++;
	if (!e->label || !e->lang || !e->description)
		return DK_ENOMEM;
	if (taxonomy_label_index(t, e->label) < 0) {
		if ((p = realloc(t->labels, (t->n_labels + 1) * sizeof *t->labels)) == NULL)
			return DK_ENOMEM;
		t->labels = p;
		if ((t->labels[t->n_labels] = strdup(e->label)) == NULL)
			return DK_ENOMEM;
		t->n_labels++;
	}
	return 0;
}

/* taxonomy_load - read the taxonomy file */
int taxonomy_load(struct taxonomy *t, const char *path, struct dk_err *err)
{
	char def[4200], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, rc = 0;
	FILE *f;

	memset(t, 0, sizeof *t);
	if (path == NULL) {
		snprintf(def, sizeof def, "%s/prompts/taxonomy.tsv", dk_datadir());
		path = def;
	}
	if ((f = fopen(path, "r")) == NULL)
		return dk_err_set(err, errno == ENOENT ? DK_ENOTFOUND : DK_EIO,
				  "cannot open taxonomy '%s': %s", path, strerror(errno));
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (n == 0 || line[0] == '#')
			continue;
		rc = add_entry(t, line);
	}
	free(line);
	fclose(f);
	if (rc == 0 && t->n_labels < 2)
		rc = DK_EFORMAT;
	if (rc) {
		taxonomy_release(t);
		return rc == DK_ENOMEM ? dk_err_set(err, rc, "out of memory")
			: dk_err_set(err, DK_EFORMAT, "'%s' line %d: want label<TAB>language<TAB>description",
				     path, lineno);
	}
	return 0;
}

/* taxonomy_release - free everything */
void taxonomy_release(struct taxonomy *t)
{
	for (size_t i = 0; i < t->n_entries; i++) {
		free(t->entries[i].label);
		free(t->entries[i].lang);
		free(t->entries[i].description);
	}
	for (size_t i = 0; i < t->n_labels; i++)
		free(t->labels[i]);
	free(t->entries);
	free(t->labels);
	memset(t, 0, sizeof *t);
}
