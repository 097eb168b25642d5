/*
 * NAME
 *	langid_cld2 - C shim over CLD2
 * DESIGN NOTES
 *	1. kCLDFlagBestEffort: we always want CLD2's best guess; whether to
 *	   trust it is decided in langid.c, which sees the other signals.
 *	2. No exception can escape: CLD2 does not throw, and this file only
 *	   calls it with plain buffers.
 */
#include <cstdio>		/* compact_lang_det.h uses FILE without including it */
#include <cstring>

#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>

#include "stages/langid_cld2.h"

namespace CLD2 {
const char *LanguageCode(Language lang);
}

extern "C" int langid_cld2_detect(const char *text, int len, struct langid_cld2_out *out)
{
	CLD2::CLDHints hints = { nullptr, nullptr, CLD2::UNKNOWN_ENCODING, CLD2::UNKNOWN_LANGUAGE };
	CLD2::Language lang3[3];
	int percent3[3];
	double score3[3];
	bool reliable = false;

	std::memset(out, 0, sizeof *out);
	CLD2::ExtDetectLanguageSummaryCheckUTF8(text, len, true, &hints,
		CLD2::kCLDFlagBestEffort, lang3, percent3, score3, nullptr,
		&out->text_bytes, &reliable, &out->valid_prefix);
	if (out->valid_prefix < len)
		return -1;
	for (int i = 0; i < 3; i++) {
		std::snprintf(out->top[i].code, sizeof out->top[i].code, "%s",
			      CLD2::LanguageCode(lang3[i]));
		out->top[i].percent = percent3[i];
		out->top[i].score = score3[i];
	}
	out->reliable = reliable;
	return 0;
}
