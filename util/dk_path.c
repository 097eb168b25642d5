/*
 * NAME
 *	dk_path - locate docket's data directory
 * DESIGN NOTES
 *	/proc/self/exe is read rather than argv[0], so the answer does not
 *	depend on how the program was started.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/dk_path.h"

static char datadir[PATH_MAX + 64];

static int has_prompts(const char *dir)
{
	char p[PATH_MAX + 128];

	snprintf(p, sizeof p, "%s/prompts", dir);
	return access(p, R_OK | X_OK) == 0;
}

/* dk_datadir - the data directory (see dk_path.h) */
const char *dk_datadir(void)
{
	char exe[PATH_MAX], cand[PATH_MAX + 32];
	const char *env = getenv("DOCKET_DATADIR");
	ssize_t n;
	char *slash;

	if (datadir[0])
		return datadir;
	snprintf(datadir, sizeof datadir, "%s", "/usr/local/share/docket");
	if (env && *env) {
		snprintf(datadir, sizeof datadir, "%s", env);
		return datadir;
	}
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return datadir;
	exe[n] = 0;
	if ((slash = strrchr(exe, '/')) == NULL)
		return datadir;
	*slash = 0;	/* exe is now BIN */
	snprintf(cand, sizeof cand, "%s/../share/docket", exe);
	if (!has_prompts(cand))
		snprintf(cand, sizeof cand, "%s/../..", exe);
	if (has_prompts(cand) && realpath(cand, datadir) == NULL)
		snprintf(datadir, sizeof datadir, "%s", cand);
	return datadir;
}
