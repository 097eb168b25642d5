/*
 * NAME
 *	langid_cld2 - a C face for Google's CLD2 (libcld2, C++)
 * SUMMARY
 *	langid_cld2_detect() returns CLD2's top three languages with their
 *	share of the text (percent) and CLD2's reliability flag, plus the
 *	language of each scored chunk so mixed documents can list the others.
 *	Codes are CLD2's (ISO 639-1 where one exists, "nb", "zh-Hant", ...).
 * OWNERSHIP
 *	Results are written into caller storage; nothing to free.
 * THREADS
 *	Safe: CLD2 keeps no mutable global state.
 * ERRORS
 *	Returns 0, or -1 if the text is not valid UTF-8 (valid_prefix says
 *	how far it was).
 */
#ifndef DK_LANGID_CLD2_H
#define DK_LANGID_CLD2_H

#ifdef __cplusplus
extern "C" {
#endif

struct langid_cld2_guess {
	char code[12];
	int percent;		/* share of the scored text, 0..100 */
	double score;		/* CLD2's normalized score, ~1.0 for normal text */
};

struct langid_cld2_out {
	struct langid_cld2_guess top[3];
	int reliable;
	int text_bytes;
	int valid_prefix;
};

int langid_cld2_detect(const char *text, int len, struct langid_cld2_out *out);

#ifdef __cplusplus
}
#endif
#endif
