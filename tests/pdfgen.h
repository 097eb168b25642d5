/*
 * NAME
 *	pdfgen.h - hand-built PDFs that cairo cannot write, for tests and mkcorpus
 * SUMMARY
 *	test_encrypted_pdf() returns a one-page PDF with a Standard security
 *	handler (RC4, revision 2) that no empty password opens: poppler must
 *	report it as encrypted. The caller frees it with g_byte_array_free().
 */
#ifndef DK_TEST_PDFGEN_H
#define DK_TEST_PDFGEN_H

#include <glib.h>

static inline GByteArray *test_encrypted_pdf(void)
{
	static const char *const objs[] = {
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
		"<< /Filter /Standard /V 1 /R 2 /P -4 "
		"/O <0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20> "
		"/U <a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0> >>",
	};
	GString *g = g_string_new("%PDF-1.4\n");
	size_t off[4], xref, len;

	for (int i = 0; i < 4; i++) {
		off[i] = g->len;
		g_string_append_printf(g, "%d 0 obj\n%s\nendobj\n", i + 1, objs[i]);
	}
	xref = g->len;
	g_string_append(g, "xref\n0 5\n0000000000 65535 f \n");
	for (int i = 0; i < 4; i++)
		g_string_append_printf(g, "%010zu 00000 n \n", off[i]);
	g_string_append_printf(g, "trailer\n<< /Size 5 /Root 1 0 R /Encrypt 4 0 R /ID "
			       "[<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>] >>\n"
			       "startxref\n%zu\n%%%%EOF\n", xref);
	len = g->len;
	return g_byte_array_new_take((guint8 *)g_string_free(g, FALSE), len);
}

#endif
