/*
 * NAME
 *	dk_path - where docket's installed data (prompts/, schemas/) lives
 * SUMMARY
 *	dk_datadir() answers, in order: $DOCKET_DATADIR; PREFIX/share/docket
 *	next to an installed binary (BIN/../share/docket); the source tree
 *	when run from it (BUILD/bin/docket -> the root of the tree).
 * OWNERSHIP
 *	Returns a static string, valid for the life of the process.
 * THREADS
 *	Call once before starting threads (it caches its answer).
 * ERRORS
 *	Never fails: falls back to "/usr/local/share/docket".
 */
#ifndef DK_PATH_H
#define DK_PATH_H

const char *dk_datadir(void);

#endif
