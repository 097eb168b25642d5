/* Unit tests for pipeline/config: table, file, command line, reload. */
#include <stdio.h>
#include <string.h>

#include "pipeline/config.h"
#include "tests/test.h"

static const char *write_file(const char *name, const char *text)
{
	static char p[512];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", test_tmpdir(), name);
	f = fopen(p, "w");
	if (f == NULL)
		return NULL;
	fputs(text, f);
	fclose(f);
	return p;
}

static void defaults_in_range(void)
{
	struct config c;
	struct extract_limits lim;

	config_init(&c);
	CHECK(strcmp(c.db, "/var/lib/docket/docket.db") == 0);
	CHECK(c.workers == 2 && c.seccomp == 1);
	CHECK(c.stable_seconds == 2.0);
	CHECK(c.max_input_bytes == 256u << 20);
	CHECK(c.model && c.model[0] == 0);
	config_extract_limits(&c, &lim);
	CHECK(lim.max_input_bytes == c.max_input_bytes && lim.max_pages == 5000);
	CHECK(lim.max_total_bytes == (size_t)1 << 30 && lim.max_children == 100);
	config_release(&c);
}

/* deploy/docket.conf lists every key with the table's default. */
static void example_file_matches_table(void)
{
	char path[512], line[1024];
	size_t n, found = 0;
	const struct config_setting *s = config_settings(&n);
	FILE *f;

	snprintf(path, sizeof path, "%s/deploy/docket.conf",
		 getenv("DOCKET_TOP") ? getenv("DOCKET_TOP") : "..");
	f = fopen(path, "r");
	REQUIRE(f != NULL);
	while (fgets(line, sizeof line, f)) {
		char *eq = strstr(line, " = ");
		size_t len = strcspn(line, "\n");

		line[len] = 0;
		if (line[0] != '#' || line[1] == ' ' || line[1] == 0)
			continue;
		if (eq == NULL && (eq = strstr(line, " =")) == NULL)
			continue;
		*eq = 0;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(s[i].key, line + 1) != 0)
				continue;
			found++;
			CHECKF(strcmp(eq[2] ? eq + 3 : "", s[i].def) == 0,
			       "deploy/docket.conf: default of '%.40s' differs from the table", s[i].key);
		}
	}
	fclose(f);
	CHECKF(found == n, "deploy/docket.conf lists %zu of %zu settings", found, n);
}

static void file_values_and_errors(void)
{
	struct config c;
	struct dk_err e = DK_ERR_INIT;
	const char *p;

	config_init(&c);
	p = write_file("a.conf", "# comment\n[docket]\nworkers = 4\nmax_input_bytes = 10M\n"
		       "seccomp = no\nstable_seconds = 0.25\nspool = /tmp/sp\n");
	REQUIRE(p != NULL);
	REQUIRE(config_load_file(&c, p, &e) == 0);
	CHECK(c.workers == 4 && c.max_input_bytes == 10u << 20 && c.seccomp == 0);
	CHECK(c.stable_seconds == 0.25 && strcmp(c.spool, "/tmp/sp") == 0);
	CHECK(strcmp(c.config_file, p) == 0);
	p = write_file("b.conf", "[docket]\nwrokers = 4\n");
	CHECK(config_load_file(&c, p, &e) == DK_ECONFIG);
	CHECK(strstr(e.msg, "unknown setting 'wrokers'") != NULL);
	p = write_file("c.conf", "[docket]\nworkers = 0\n");
	CHECK(config_load_file(&c, p, &e) == DK_ECONFIG);
	CHECK(strstr(e.msg, "'workers'") != NULL && strstr(e.msg, "outside") != NULL);
	p = write_file("d.conf", "[docket]\nmax_pages = 12x\n");
	CHECK(config_load_file(&c, p, &e) == DK_ECONFIG);
	p = write_file("e.conf", "[other]\nworkers = 3\n");
	CHECK(config_load_file(&c, p, &e) == DK_ECONFIG);
	p = write_file("f.conf", "not an ini file\n");
	CHECK(config_load_file(&c, p, &e) == DK_ECONFIG);
	CHECK(config_load_file(&c, "/nonexistent/docket.conf", &e) == DK_ENOTFOUND);
	CHECK(c.workers == 4);
	CHECK(config_set(&c, "max_text_bytes", "1500.5", &e) == DK_ECONFIG);	/* not whole */
	CHECK(config_set(&c, "max_text_bytes", "1.5k", &e) == 0 && c.max_text_bytes == 1536);
	CHECK(config_set(&c, "max_text_bytes", "2kB", &e) == 0 && c.max_text_bytes == 2048);
	config_release(&c);
}

static void argv_overrides_file(void)
{
	struct config c;
	struct dk_err e = DK_ERR_INIT;
	const char *p = write_file("g.conf", "[docket]\nworkers = 5\ndb = /from/file.db\n");
	char *argv[] = { "export", "--db", "x.db", "--format", "csv", "--config", (char *)p,
			 "--workers=3", "--set", "stable_seconds=0.5", "--", "--db", NULL };
	int argc = 12;

	REQUIRE(config_setup(&c, &argc, argv, &e) == 0);
	CHECK(argc == 5);
	CHECK(strcmp(argv[1], "--format") == 0 && strcmp(argv[2], "csv") == 0);
	CHECK(strcmp(argv[3], "--") == 0 && strcmp(argv[4], "--db") == 0 && argv[5] == NULL);
	CHECK(strcmp(c.db, "x.db") == 0);
	CHECK(c.workers == 3 && c.stable_seconds == 0.5);
	config_release(&c);
}

static void argv_errors(void)
{
	struct config c;
	struct dk_err e = DK_ERR_INIT;
	char *a1[] = { "x", "--db", NULL };
	char *a2[] = { "x", "--config", "/nonexistent.conf", NULL };
	char *a3[] = { "x", "--set", "novalue", NULL };
	char *a4[] = { "x", "--workers", "many", NULL };
	int n;

	n = 2;
	CHECK(config_setup(&c, &n, a1, &e) == DK_EINVAL);
	n = 3;
	CHECK(config_setup(&c, &n, a2, &e) == DK_ENOTFOUND);
	n = 3;
	CHECK(config_setup(&c, &n, a3, &e) == DK_EINVAL);
	n = 3;
	CHECK(config_setup(&c, &n, a4, &e) == DK_ECONFIG);
	CHECK(strstr(e.msg, "'workers'") != NULL);
}

static void reload_keeps_overrides_and_refuses_bad(void)
{
	struct config c;
	struct dk_err e = DK_ERR_INIT;
	char path[512];
	const char *p = write_file("r.conf", "[docket]\nworkers = 3\nthreads = 3\n");
	char *argv[] = { "watch", "--config", NULL, "--threads", "4", NULL };
	int argc = 5;

	snprintf(path, sizeof path, "%s", p);
	argv[2] = path;
	REQUIRE(config_setup(&c, &argc, argv, &e) == 0);
	CHECK(c.workers == 3 && c.threads == 4);
	write_file("r.conf", "[docket]\nworkers = 6\nthreads = 1\n");
	REQUIRE(config_reload(&c, &e) == 0);
	CHECK(c.workers == 6 && c.threads == 4);
	write_file("r.conf", "[docket]\nworkers = 7\nthreads = oops\n");
	CHECK(config_reload(&c, &e) == DK_ECONFIG);
	CHECK(c.workers == 6 && c.threads == 4);
	config_release(&c);
}

int main(void)
{
	RUN(defaults_in_range);
	RUN(example_file_matches_table);
	RUN(file_values_and_errors);
	RUN(argv_overrides_file);
	RUN(argv_errors);
	RUN(reload_keeps_overrides_and_refuses_bad);
	return TEST_END();
}
