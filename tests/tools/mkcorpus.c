/*
 * NAME
 *	mkcorpus - write test documents of every format docket reads
 * SYNOPSIS
 *	mkcorpus --out DIR [--count N] [--seed S] [--formats LIST]
 *		 [--pdf-pages N] [--hostile] [--bomb-mb N] [--oversize-mb N]
 *		 [--manifest FILE]
 * DESCRIPTION
 *	Writes N fictitious agency letters (permit applications, complaints,
 *	invoices, appeals) in de, en, fr, nl, it, es and pl, cycling through
 *	the formats of LIST (default
 *	"pdf,docx,odt,html,xml,eml,txt,txt16,latin1"): PDF drawn with cairo
 *	(running head, "page N of M" footer, long words hyphenated across
 *	lines), DOCX and ODT (ZIP written here, mimetype stored first),
 *	HTML with a script, a style and an iframe, XML, EML (quoted-printable
 *	body and a PDF attachment), TXT in UTF-8, UTF-16LE with BOM, Latin-1.
 *	The same seed gives the same bytes. Names are doc-NNNN.EXT.
 *
 *	--pdf-pages N also writes long-N.pdf with N pages.
 *	--hostile also writes the hostile set: a zero-byte file, a JPEG
 *	named .pdf, a truncated PDF, an encrypted PDF, an image-only PDF,
 *	billion-laughs XML, XXE naming file:///etc/passwd, a ZIP-bomb DOCX
 *	(one member inflating to --bomb-mb MiB, default 2048, from a few MiB),
 *	a text file of --oversize-mb MiB, default 257, just over the default
 *	input cap of 256 MiB (sparse: cheap to write), HTML with script
 *	and iframe, a symlink, and odd names (spaces, accents, a newline,
 *	invalid UTF-8).
 *	--manifest FILE writes one line per document: the name (backslash,
 *	newline and tab written as \\, \n and \t; other bytes as they are),
 *	TAB, the expected outcome: "done" or "failed:SLUG" (ok:any where
 *	either is right, such as a symlink a scanner may skip).
 * DIAGNOSTICS
 *	Exit 0, or 1 with one line on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <glib.h>
#include <zlib.h>

#include "tests/pdfgen.h"

/* ---- random numbers (xorshift64*): same seed, same corpus ---------------- */

static uint64_t rng_state = 88172645463325252ULL;

/* rnd - a number in [0, n) */
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 33) % (n ? n : 1);
}

#define PICK(a) ((a)[rnd(sizeof(a) / sizeof((a)[0]))])

/* ---- letters ---------------------------------------------------------------- */

enum { K_PERMIT, K_COMPLAINT, K_INVOICE, K_APPEAL, N_KINDS };

struct lang {
	const char *code;
	const char *months[12];
	const char *date_fmt;		/* day, month name, year */
	const char *postcode;		/* '#' digit, '?' capital letter */
	const char *iban_cc;
	int bban_len;
	const char *org_fmt;		/* city */
	const char *cities[3], *streets[3], *first[4], *last[4];
	const char *subject[N_KINDS];	/* REF */
	const char *body[N_KINDS];	/* NAME ORG DATE AMOUNT IBAN REF ADDR */
	const char *more;		/* a second paragraph, any kind */
	const char *greeting, *closing, *page_fmt, *ref_label;
	int dec_comma;			/* 1.250,00 vs 1,250.00 */
	const char *currency;
};

static const struct lang langs[] = {
	{ "de", { "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
		  "September", "Oktober", "November", "Dezember" }, "%d. %s %d", "#####", "DE", 18,
	  "Stadtverwaltung %s", { "Freiburg im Breisgau", "Regensburg", "Münster" },
	  { "Lindenstraße", "Am Mühlbach", "Schillerweg" }, { "Jörg", "Anna", "Sabine", "Thomas" },
	  { "Weiß", "Müller", "Schröder", "Becker" },
	  { "Antrag auf Baugenehmigung, Az. REF", "Beschwerde über Lärmbelästigung, Az. REF",
	    "Rechnung Nr. REF", "Widerspruch gegen den Bescheid vom DATE, Az. REF" },
	  { "hiermit beantrage ich, NAME, wohnhaft ADDR, die Genehmigung für den Anbau einer "
	    "Garage. Die Verwaltungsgebühr von AMOUNT habe ich am DATE auf das Konto IBAN überwiesen.",
	    "seit Wochen wird in der Nachbarschaft nachts gebaut. Ich bitte die Ordnungsbehörde "
	    "der ORG um Prüfung. Ich wohne unter der Anschrift ADDR.",
	    "für die Prüfung der Bauunterlagen berechnen wir AMOUNT. Bitte überweisen Sie den "
	    "Betrag bis zum DATE auf das Konto IBAN unter Angabe der Rechnungsnummer REF.",
	    "gegen den Gebührenbescheid lege ich fristgerecht Widerspruch ein. Die festgesetzte "
	    "Gebühr von AMOUNT ist unverhältnismäßig. Bitte erstatten Sie den Betrag auf IBAN." },
	  "Die Genehmigungsverfahrensunterlagen und die Verwaltungsvorschriften der "
	  "Landeshauptstadt wurden berücksichtigt. Für Rückfragen stehe ich gerne zur Verfügung.",
	  "Sehr geehrte Damen und Herren,", "Mit freundlichen Grüßen", "Seite %d von %d", "Aktenzeichen",
	  1, "EUR" },
	{ "en", { "January", "February", "March", "April", "May", "June", "July", "August",
		  "September", "October", "November", "December" }, "%d %s %d", "?? #??", "GB", 18,
	  "%s City Council", { "Leeds", "Bristol", "Norwich" },
	  { "Mill Lane", "Church Street", "Park Road" }, { "Oliver", "Emily", "Harry", "Grace" },
	  { "Thompson", "Walker", "Hughes", "Clarke" },
	  { "Planning application REF", "Complaint about missed bin collections, ref. REF",
	    "Invoice REF", "Appeal against the decision of DATE, ref. REF" },
	  { "I, NAME, of ADDR, apply for planning permission for a rear extension. The "
	    "application fee of AMOUNT was paid on DATE from account IBAN.",
	    "our household waste has not been collected for three weeks. I ask ORG to "
	    "resolve this. My address is ADDR.",
	    "for the inspection of the building works we charge AMOUNT. Please pay by DATE "
	    "to account IBAN quoting invoice number REF.",
	    "I appeal against the penalty charge of AMOUNT. I was not parked in the restricted "
	    "zone. Please refund the charge to account IBAN." },
	  "The supporting documents and the neighbourhood consultation responses are "
	  "enclosed. Please contact me if anything further is required.",
	  "Dear Sir or Madam,", "Yours faithfully", "Page %d of %d", "Reference", 0, "GBP" },
	{ "fr", { "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
		  "septembre", "octobre", "novembre", "décembre" }, "%d %s %d", "#####", "FR", 23,
	  "Mairie de %s", { "Montpellier", "Besançon", "Orléans" },
	  { "rue des Écoles", "avenue Jean Jaurès", "place du Marché" },
	  { "Hélène", "François", "Élodie", "Jérôme" }, { "Lefèvre", "Dubois", "Moreau", "Girard" },
	  { "Demande de permis de construire, réf. REF", "Réclamation concernant la voirie, réf. REF",
	    "Facture n° REF", "Recours contre la décision du DATE, réf. REF" },
	  { "je soussigné(e) NAME, demeurant ADDR, sollicite un permis de construire pour une "
	    "véranda. Les frais de dossier de AMOUNT ont été réglés le DATE depuis le compte IBAN.",
	    "la chaussée devant mon domicile est dégradée depuis des mois. Je demande à la ORG "
	    "d'intervenir. Mon adresse est ADDR.",
	    "pour l'instruction du dossier nous facturons AMOUNT. Merci de régler avant le DATE "
	    "sur le compte IBAN en indiquant la référence REF.",
	    "je conteste l'amende de AMOUNT. Je vous prie de rembourser ce montant sur le "
	    "compte IBAN." },
	  "Les pièces justificatives sont jointes à ce courrier. Je reste à votre disposition "
	  "pour tout renseignement complémentaire.",
	  "Madame, Monsieur,", "Veuillez agréer mes salutations distinguées.", "Page %d sur %d",
	  "Référence", 1, "EUR" },
	{ "nl", { "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
		  "september", "oktober", "november", "december" }, "%d %s %d", "#### ??", "NL", 14,
	  "Gemeente %s", { "Tilburg", "Zwolle", "Haarlem" },
	  { "Korvelseweg", "Grote Markt", "Spoorlaan" }, { "Fatima", "Jan", "Sanne", "Pieter" },
	  { "de Vries", "Jansen", "Bakker", "Visser" },
	  { "Aanvraag omgevingsvergunning REF", "Klacht over straatverlichting, kenmerk REF",
	    "Factuur REF", "Bezwaar tegen het besluit van DATE, kenmerk REF" },
	  { "hierbij vraag ik, NAME, wonende ADDR, een omgevingsvergunning aan voor een "
	    "dakkapel. De leges van AMOUNT heb ik op DATE betaald vanaf rekening IBAN.",
	    "de straatverlichting in mijn straat werkt al weken niet. Ik verzoek de ORG dit "
	    "te herstellen. Mijn adres is ADDR.",
	    "voor de behandeling van uw aanvraag brengen wij AMOUNT in rekening. Gelieve voor "
	    "DATE te betalen op rekening IBAN onder vermelding van REF.",
	    "ik maak bezwaar tegen de aanslag van AMOUNT. Graag ontvang ik het bedrag terug "
	    "op rekening IBAN." },
	  "De bijlagen zijn meegestuurd. Voor vragen ben ik telefonisch bereikbaar.",
	  "Geachte heer/mevrouw,", "Met vriendelijke groet,", "Pagina %d van %d", "Kenmerk", 1, "EUR" },
	{ "it", { "gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
		  "settembre", "ottobre", "novembre", "dicembre" }, "%d %s %d", "#####", "IT", 23,
	  "Comune di %s", { "Bologna", "Verona", "Perugia" },
	  { "Via Mazzini", "Piazza Garibaldi", "Corso Cavour" }, { "Giorgio", "Chiara", "Luca", "Francesca" },
	  { "Santoro", "Ricci", "Esposito", "Marino" },
	  { "Richiesta di permesso di costruire, prot. REF", "Reclamo per i disservizi, prot. REF",
	    "Fattura n. REF", "Ricorso avverso il provvedimento del DATE, prot. REF" },
	  { "il sottoscritto NAME, residente in ADDR, chiede il permesso di costruire per una "
	    "tettoia. I diritti di segreteria di AMOUNT sono stati versati il DATE dal conto IBAN.",
	    "desidero segnalare i continui disservizi della raccolta rifiuti. Chiedo al ORG "
	    "di intervenire. Il mio indirizzo è ADDR.",
	    "per l'istruttoria della pratica addebitiamo AMOUNT. Si prega di pagare entro il "
	    "DATE sul conto IBAN indicando il riferimento REF.",
	    "ricorro contro la sanzione di AMOUNT. Chiedo il rimborso sul conto IBAN." },
	  "Si allegano i documenti richiesti. Resto a disposizione per ogni chiarimento.",
	  "Gentili signori,", "Distinti saluti", "Pagina %d di %d", "Protocollo", 1, "EUR" },
	{ "es", { "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
		  "septiembre", "octubre", "noviembre", "diciembre" }, "%d de %s de %d", "#####", "ES", 20,
	  "Ayuntamiento de %s", { "Zaragoza", "Valladolid", "Córdoba" },
	  { "Calle Mayor", "Avenida de la Constitución", "Plaza de España" },
	  { "María", "José", "Lucía", "Andrés" }, { "García", "Fernández", "López", "Martínez" },
	  { "Solicitud de licencia de obras, exp. REF", "Queja sobre el alumbrado público, exp. REF",
	    "Factura n.º REF", "Recurso contra la resolución del DATE, exp. REF" },
	  { "yo, NAME, con domicilio en ADDR, solicito licencia de obras para reformar la "
	    "fachada. La tasa de AMOUNT fue abonada el DATE desde la cuenta IBAN.",
	    "el alumbrado de mi calle no funciona desde hace semanas. Solicito al ORG que lo "
	    "repare. Mi domicilio es ADDR.",
	    "por la tramitación del expediente facturamos AMOUNT. Rogamos el pago antes del "
	    "DATE en la cuenta IBAN indicando la referencia REF.",
	    "recurro la multa de AMOUNT. Solicito la devolución en la cuenta IBAN." },
	  "Adjunto la documentación necesaria. Quedo a su disposición para cualquier aclaración.",
	  "Estimados señores:", "Atentamente,", "Página %d de %d", "Expediente", 1, "EUR" },
	{ "pl", { "stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia",
		  "września", "października", "listopada", "grudnia" }, "%d %s %d", "##-###", "PL", 24,
	  "Urząd Miasta %s", { "Kraków", "Gdańsk", "Wrocław" },
	  { "ul. Wielicka", "ul. Długa", "al. Grunwaldzka" }, { "Katarzyna", "Piotr", "Agnieszka", "Tomasz" },
	  { "Nowakowska", "Kowalski", "Wiśniewska", "Zieliński" },
	  { "Wniosek o pozwolenie na budowę, znak REF", "Skarga na hałas, znak REF",
	    "Faktura nr REF", "Odwołanie od decyzji z dnia DATE, znak REF" },
	  { "ja, NAME, zamieszkały ADDR, wnoszę o wydanie pozwolenia na budowę garażu. Opłatę "
	    "w wysokości AMOUNT uiściłem dnia DATE z rachunku IBAN.",
	    "od tygodni w nocy prowadzone są prace budowlane. Proszę ORG o interwencję. "
	    "Mój adres to ADDR.",
	    "za rozpatrzenie wniosku naliczamy AMOUNT. Prosimy o wpłatę do dnia DATE na "
	    "rachunek IBAN z podaniem numeru REF.",
	    "odwołuję się od kary w wysokości AMOUNT. Proszę o zwrot na rachunek IBAN." },
	  "W załączeniu przesyłam wymagane dokumenty. Pozostaję do dyspozycji.",
	  "Szanowni Państwo,", "Z poważaniem", "Strona %d z %d", "Znak sprawy", 1, "PLN" },
};

#define N_LANGS ((int)(sizeof langs / sizeof langs[0]))

/* a document: title, then paragraphs (lines inside one joined by '\n') */
struct doc {
	const struct lang *l;
	char *org, *title, *name, *email;
	GPtrArray *paras;
};

/* pattern - p with each '#' a random digit and '?' a random capital */
static char *pattern(const char *p)
{
	GString *g = g_string_new(NULL);

	for (; *p; p++)
		if (*p == '#')
			g_string_append_c(g, (char)('0' + rnd(10)));
		else if (*p == '?')
			g_string_append_c(g, (char)('A' + rnd(26)));
		else
			g_string_append_c(g, *p);
	return g_string_free(g, FALSE);
}

/* iban - a valid IBAN (mod 97 check digits), grouped by four */
static char *iban(const struct lang *l)
{
	char bban[40], num[128];
	unsigned mod = 0;
	size_t k = 0;
	GString *g = g_string_new(NULL);

	for (int i = 0; i < l->bban_len; i++)
		bban[i] = (char)('0' + rnd(10));
	bban[l->bban_len] = 0;
	if (strcmp(l->iban_cc, "GB") == 0 || strcmp(l->iban_cc, "NL") == 0)
		for (int i = 0; i < 4; i++)
			bban[i] = (char)('A' + rnd(26));
	k = (size_t)snprintf(num, sizeof num, "%s", bban);
	for (const char *c = l->iban_cc; *c; c++)
		k += (size_t)snprintf(num + k, sizeof num - k, "%d", *c - 'A' + 10);
	snprintf(num + k, sizeof num - k, "00");
	for (const char *c = num; *c; c++)
		mod = (*c >= 'A') ? (mod * 100 + (unsigned)(*c - 'A' + 10)) % 97
				  : (mod * 10 + (unsigned)(*c - '0')) % 97;
	g_string_printf(g, "%s%02u", l->iban_cc, 98 - mod);
	for (int i = 0; bban[i]; i++) {
		if (i % 4 == 0)
			g_string_append_c(g, ' ');
		g_string_append_c(g, bban[i]);
	}
	return g_string_free(g, FALSE);
}

/* amount - a sum of money written the way l writes it */
static char *amount(const struct lang *l)
{
	unsigned euros = 20 + rnd(4980), cents = rnd(100);
	char th = l->dec_comma ? '.' : ',', dec = l->dec_comma ? ',' : '.';

	if (euros >= 1000)
		return g_strdup_printf("%u%c%03u%c%02u %s", euros / 1000, th, euros % 1000, dec, cents,
				       l->currency);
	return g_strdup_printf("%u%c%02u %s", euros, dec, cents, l->currency);
}

/* date - a 2024/2025 date written the way l writes it */
static char *date(const struct lang *l)
{
	return g_strdup_printf(l->date_fmt, 1 + (int)rnd(28), l->months[rnd(12)], 2024 + (int)rnd(2));
}

/* fill - template t with its placeholders replaced */
static char *fill(const char *t, const char *const *keys, char *const *vals, int n)
{
	GString *g = g_string_new(NULL);

	while (*t) {
		int hit = -1;

		for (int i = 0; i < n && hit < 0; i++)
			if (strncmp(t, keys[i], strlen(keys[i])) == 0)
				hit = i;
		if (hit < 0) {
			g_string_append_c(g, *t++);
			continue;
		}
		g_string_append(g, vals[hit]);
		t += strlen(keys[hit]);
	}
	return g_string_free(g, FALSE);
}

/* make_doc - one letter of kind k in language l */
static void make_doc(struct doc *d, const struct lang *l, int kind)
{
	static const char *const keys[] = { "NAME", "ORG", "DATE", "AMOUNT", "IBAN", "REF", "ADDR" };
	const char *city = PICK(l->cities);
	char *pc = pattern(l->postcode), *pc2 = pattern(l->postcode);
	char *vals[7], *body, *subject, *sender, *recipient, *ascii;

	d->l = l;
	d->org = g_strdup_printf(l->org_fmt, city);
	d->name = g_strdup_printf("%s %s", PICK(l->first), PICK(l->last));
	vals[0] = d->name;
	vals[1] = d->org;
	vals[2] = date(l);
	vals[3] = amount(l);
	vals[4] = iban(l);
	vals[5] = g_strdup_printf("%c%c-%04u/%u", (int)('A' + rnd(26)), (int)('A' + rnd(26)),
				  rnd(10000), 2024 + rnd(2));
	vals[6] = g_strdup_printf("%s %u, %s %s", PICK(l->streets), 1 + rnd(120), pc, city);
	ascii = g_str_to_ascii(d->name, NULL);
	for (char *c = ascii; *c; c++)
		*c = *c == ' ' ? '.' : g_ascii_tolower(*c);
	d->email = g_strdup_printf("%s@example.org", ascii);
	subject = fill(l->subject[kind], keys, vals, 7);
	body = fill(l->body[kind], keys, vals, 7);
	sender = g_strdup_printf("%s\n%s\n%s", d->name, vals[6], d->email);
	recipient = g_strdup_printf("%s\n%s %u\n%s %s", d->org, PICK(l->streets), 1 + rnd(60), pc2, city);
	d->title = g_strdup(subject);
	d->paras = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(d->paras, sender);
	g_ptr_array_add(d->paras, recipient);
	g_ptr_array_add(d->paras, g_strdup_printf("%s, %s", city, vals[2]));
	g_ptr_array_add(d->paras, subject);
	g_ptr_array_add(d->paras, g_strdup(l->greeting));
	g_ptr_array_add(d->paras, body);
	g_ptr_array_add(d->paras, g_strdup(l->more));
	g_ptr_array_add(d->paras, g_strdup_printf("%s\n%s", l->closing, d->name));
	for (int i = 2; i < 7; i++)
		g_free(vals[i]);
	g_free(ascii);
	g_free(pc);
	g_free(pc2);
}

/* doc_free - release what make_doc() made */
static void doc_free(struct doc *d)
{
	g_free(d->org);
	g_free(d->title);
	g_free(d->name);
	g_free(d->email);
	g_ptr_array_free(d->paras, TRUE);
}

/* plain - the document as plain text, paragraphs separated by a blank line */
static char *plain(const struct doc *d)
{
	GString *g = g_string_new(NULL);

	for (guint i = 0; i < d->paras->len; i++)
		g_string_append_printf(g, "%s%s", i ? "\n\n" : "", (char *)d->paras->pdata[i]);
	g_string_append_c(g, '\n');
	return g_string_free(g, FALSE);
}

/* ---- output helpers ------------------------------------------------------- */

static const char *out_dir;
static FILE *manifest;

/* fail - one error line about file name */
static int fail(const char *what, const char *name)
{
	fprintf(stderr, "mkcorpus: cannot write '%s': %s\n", name, what);
	return -1;
}

/* note - one manifest line: name (backslash, newline, tab escaped), TAB, outcome */
static void note(const char *name, const char *expect)
{
	if (manifest == NULL)
		return;
	for (const char *p = name; *p; p++)
		fputs(*p == '\\' ? "\\\\" : *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : (char[2]){ *p, 0 },
		      manifest);
	fprintf(manifest, "\t%s\n", expect);
}

/* put - write OUT/name and note its expected outcome */
static int put(const char *name, const void *data, size_t len, const char *expect)
{
	char *path = g_build_filename(out_dir, name, NULL);
	GError *e = NULL;
	int rc = 0;

	if (!g_file_set_contents(path, data, (gssize)len, &e)) {
		rc = fail(e->message, name);
		g_error_free(e);
	}
	g_free(path);
	if (rc == 0)
		note(name, expect);
	return rc;
}

/* ---- PDF ------------------------------------------------------------------------ */

#define PDF_W 595.0
#define PDF_H 842.0
#define PDF_MARGIN 60.0
#define PDF_LINE 15.0
#define PDF_LINES 44

/* sink - cairo's output appended to a GByteArray */
static cairo_status_t sink(void *closure, const unsigned char *data, unsigned int n)
{
	g_byte_array_append(closure, data, n);
	return CAIRO_STATUS_SUCCESS;
}

/* width_of - s's advance in the current font, in points */
static double width_of(cairo_t *cr, const char *s)
{
	cairo_text_extents_t e;

	cairo_text_extents(cr, s, &e);
	return e.x_advance;
}

/* pure_word - letters with at most a final . , ; or : (never a number, IBAN, e-mail) */
static int pure_word(const char *w)
{
	const char *end = w + strlen(w);

	if (end > w && strchr(".,;:", end[-1]))
		end--;
	for (const char *p = w; p < end; p = g_utf8_next_char(p))
		if (!g_unichar_isalpha(g_utf8_get_char(p)))
			return 0;
	return g_utf8_strlen(w, end - w) >= 8;
}

/* wrap_para - lines of one paragraph line, long words hyphenated at the margin */
static void wrap_para(cairo_t *cr, const char *text, GPtrArray *lines)
{
	char **words = g_strsplit(text, " ", -1);
	GString *cur = g_string_new(NULL);
	double maxw = PDF_W - 2 * PDF_MARGIN;

	for (int i = 0; words[i]; i++) {
		char *w = words[i], *try = g_strdup_printf("%s%s%s", cur->str, cur->len ? " " : "", w);

		if (width_of(cr, try) <= maxw || cur->len == 0) {
			g_string_assign(cur, try);
		} else if (pure_word(w)) {
			glong n = g_utf8_strlen(w, -1), k;
			char *head = NULL;

			for (k = n - 3; k >= 3; k--) {
				char *cut = g_utf8_offset_to_pointer(w, k);

				g_free(head);
				head = g_strdup_printf("%s %.*s-", cur->str, (int)(cut - w), w);
				if (width_of(cr, head) <= maxw)
					break;
			}
			if (k >= 3) {
				g_ptr_array_add(lines, head);
				g_string_assign(cur, g_utf8_offset_to_pointer(w, k));
			} else {
				g_free(head);
				g_ptr_array_add(lines, g_strdup(cur->str));
				g_string_assign(cur, w);
			}
		} else {
			g_ptr_array_add(lines, g_strdup(cur->str));
			g_string_assign(cur, w);
		}
		g_free(try);
	}
	g_ptr_array_add(lines, g_string_free(cur, FALSE));
	g_strfreev(words);
}

/* layout - all body lines ("" = blank), enough for min_pages pages */
static GPtrArray *layout(cairo_t *cr, const struct doc *d, int min_pages)
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	int round = 0;

	do {
		for (guint i = round ? 5 : 0; i < d->paras->len; i++) {
			char **parts = g_strsplit(d->paras->pdata[i], "\n", -1);

			for (int k = 0; parts[k]; k++)
				wrap_para(cr, parts[k], lines);
			g_ptr_array_add(lines, g_strdup(""));
			g_strfreev(parts);
		}
		round++;
	} while ((int)((lines->len + PDF_LINES - 1) / PDF_LINES) < min_pages);
	return lines;
}

/* render_pdf - the letter as a PDF with running head and page footer */
static GByteArray *render_pdf(const struct doc *d, int min_pages, int text)
{
	GByteArray *out = g_byte_array_new();
	cairo_surface_t *s = cairo_pdf_surface_create_for_stream(sink, out, PDF_W, PDF_H);
	cairo_t *cr = cairo_create(s);
	GPtrArray *lines;
	int pages;

	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, d->title);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_AUTHOR, d->name);
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 11.5);
	lines = layout(cr, d, min_pages);
	pages = (int)((lines->len + PDF_LINES - 1) / PDF_LINES);
	for (int p = 0; p < pages; p++) {
		char foot[64];

		if (!text) {	/* an image-only "scan": shapes, no text layer */
			cairo_rectangle(cr, PDF_MARGIN, PDF_MARGIN, 300, 40 + rnd(200));
			cairo_fill(cr);
			cairo_show_page(cr);
			continue;
		}
		cairo_move_to(cr, PDF_MARGIN, 36);
		cairo_show_text(cr, d->org);
		snprintf(foot, sizeof foot, d->l->page_fmt, p + 1, pages);
		cairo_move_to(cr, PDF_W / 2 - width_of(cr, foot) / 2, PDF_H - 30);
		cairo_show_text(cr, foot);
		for (int i = 0; i < PDF_LINES && p * PDF_LINES + i < (int)lines->len; i++) {
			cairo_move_to(cr, PDF_MARGIN, PDF_MARGIN + 12 + PDF_LINE * i);
			cairo_show_text(cr, lines->pdata[p * PDF_LINES + i]);
		}
		cairo_show_page(cr);
	}
	g_ptr_array_free(lines, TRUE);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	cairo_surface_destroy(s);
	return out;
}

/* ---- ZIP (DOCX, ODT): written here so mimetype sits at offset 38 ------------ */

struct zip {
	GByteArray *out;
	GByteArray *cdir;
	int n;
};

/* le16 - append v little-endian in 2 bytes */
static void le16(GByteArray *b, unsigned v)
{
	guint8 x[2] = { (guint8)v, (guint8)(v >> 8) };

	g_byte_array_append(b, x, 2);
}

/* le32 - append v little-endian in 4 bytes */
static void le32(GByteArray *b, uint32_t v)
{
	le16(b, v & 0xFFFF);
	le16(b, v >> 16);
}

/* zip_header - local header and central directory entry of one member */
static void zip_header(struct zip *z, const char *name, int method, uint32_t crc,
		       uint32_t csize, uint32_t usize)
{
	uint32_t off = z->out->len;
	unsigned nlen = (unsigned)strlen(name);

	le32(z->out, 0x04034b50);
	le16(z->out, 20);
	le16(z->out, 0x0800);	/* UTF-8 names */
	le16(z->out, (unsigned)method);
	le32(z->out, 0x5A210000);	/* 2025-01-01 00:00 */
	le32(z->out, crc);
	le32(z->out, csize);
	le32(z->out, usize);
	le16(z->out, nlen);
	le16(z->out, 0);
	g_byte_array_append(z->out, (const guint8 *)name, nlen);
	le32(z->cdir, 0x02014b50);
	le16(z->cdir, 20);
	le16(z->cdir, 20);
	le16(z->cdir, 0x0800);
	le16(z->cdir, (unsigned)method);
	le32(z->cdir, 0x5A210000);
	le32(z->cdir, crc);
	le32(z->cdir, csize);
	le32(z->cdir, usize);
	le16(z->cdir, nlen);
	le32(z->cdir, 0);	/* extra, comment lengths */
	le32(z->cdir, 0);	/* disk, internal attributes */
	le32(z->cdir, 0);	/* external attributes */
	le32(z->cdir, off);
	g_byte_array_append(z->cdir, (const guint8 *)name, nlen);
	z->n++;
}

/* deflate_raw - raw deflate of s[0..n) with the given flush, appended to out */
static void deflate_raw(z_stream *zs, const void *s, size_t n, int flush, GByteArray *out)
{
	guint8 buf[65536];

	zs->next_in = (Bytef *)s;
	zs->avail_in = (uInt)n;
	do {
		zs->next_out = buf;
		zs->avail_out = sizeof buf;
		deflate(zs, flush);
		g_byte_array_append(out, buf, sizeof buf - zs->avail_out);
	} while (zs->avail_out == 0);
}

/* zip_add - one member, stored or deflated */
static void zip_add(struct zip *z, const char *name, const char *data, int compress)
{
	size_t n = strlen(data);
	uint32_t crc = (uint32_t)crc32(0, (const Bytef *)data, (uInt)n);
	GByteArray *c = g_byte_array_new();
	z_stream zs;

	if (compress) {
		memset(&zs, 0, sizeof zs);
		deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
		deflate_raw(&zs, data, n, Z_FINISH, c);
		deflateEnd(&zs);
	} else {
		g_byte_array_append(c, (const guint8 *)data, (guint)n);
	}
	zip_header(z, name, compress ? 8 : 0, crc, c->len, (uint32_t)n);
	g_byte_array_append(z->out, c->data, c->len);
	g_byte_array_free(c, TRUE);
}

/* zip_finish - append the central directory; returns the whole archive */
static GByteArray *zip_finish(struct zip *z)
{
	uint32_t off = z->out->len;

	g_byte_array_append(z->out, z->cdir->data, z->cdir->len);
	le32(z->out, 0x06054b50);
	le32(z->out, 0);
	le16(z->out, (unsigned)z->n);
	le16(z->out, (unsigned)z->n);
	le32(z->out, z->cdir->len);
	le32(z->out, off);
	le16(z->out, 0);
	g_byte_array_free(z->cdir, TRUE);
	return z->out;
}

/* zip_start - an empty archive */
static void zip_start(struct zip *z)
{
	z->out = g_byte_array_new();
	z->cdir = g_byte_array_new();
	z->n = 0;
}

static const char ct_xml[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
	"<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
	"<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
	"<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
	"<Override PartName=\"/word/document.xml\" ContentType=\"application/"
	"vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>";
static const char rels_xml[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
	"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
	"relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>";
static const char docx_head[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
	"<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>";
static const char docx_tail[] = "</w:body></w:document>";

/* markup - paragraphs as XML: open, line break and close strings per paragraph */
static char *markup(const struct doc *d, const char *open, const char *br, const char *close)
{
	GString *g = g_string_new(NULL);

	for (guint i = 0; i < d->paras->len; i++) {
		char **parts = g_strsplit(d->paras->pdata[i], "\n", -1);

		g_string_append(g, open);
		for (int k = 0; parts[k]; k++) {
			char *esc = g_markup_escape_text(parts[k], -1);

			g_string_append_printf(g, "%s%s", k ? br : "", esc);
			g_free(esc);
		}
		g_string_append(g, close);
		g_strfreev(parts);
	}
	return g_string_free(g, FALSE);
}

/* render_docx - the letter as a minimal WordprocessingML package */
static GByteArray *render_docx(const struct doc *d)
{
	struct zip z;
	char *body = markup(d, "<w:p><w:r><w:t xml:space=\"preserve\">",
			    "</w:t></w:r><w:r><w:br/><w:t xml:space=\"preserve\">", "</w:t></w:r></w:p>");
	char *xml = g_strconcat(docx_head, body, docx_tail, NULL);

	zip_start(&z);
	zip_add(&z, "[Content_Types].xml", ct_xml, 1);
	zip_add(&z, "_rels/.rels", rels_xml, 1);
	zip_add(&z, "word/document.xml", xml, 1);
	g_free(body);
	g_free(xml);
	return zip_finish(&z);
}

/* render_odt - the letter as a minimal ODF text document */
static GByteArray *render_odt(const struct doc *d)
{
	static const char manifest_xml[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" "
		"manifest:version=\"1.2\"><manifest:file-entry manifest:full-path=\"/\" "
		"manifest:media-type=\"application/vnd.oasis.opendocument.text\"/>"
		"<manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/>"
		"</manifest:manifest>";
	struct zip z;
	char *body = markup(d, "<text:p>", "<text:line-break/>", "</text:p>");
	char *xml = g_strconcat("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				"<office:document-content "
				"xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" "
				"xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" "
				"office:version=\"1.2\"><office:body><office:text>",
				body, "</office:text></office:body></office:document-content>", NULL);

	zip_start(&z);
	zip_add(&z, "mimetype", "application/vnd.oasis.opendocument.text", 0);
	zip_add(&z, "META-INF/manifest.xml", manifest_xml, 1);
	zip_add(&z, "content.xml", xml, 1);
	g_free(body);
	g_free(xml);
	return zip_finish(&z);
}

/* ---- HTML, XML, EML, TXT ------------------------------------------------- */

static char *render_html(const struct doc *d)
{
	char *title = g_markup_escape_text(d->title, -1);
	char *body = markup(d, "<p>", "<br>", "</p>\n");
	char *r = g_strdup_printf(
		"<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
		"<title>%s</title><style>p { margin: 1em } .x:before { content: \"STYLE-MARKER\" }</style>"
		"<script>var secret = \"SCRIPT-MARKER\"; document.write(secret);</script></head>\n"
		"<body><h1>%s</h1>\n%s<iframe src=\"http://tracker.invalid/\">IFRAME-MARKER</iframe>\n"
		"</body></html>\n", d->l->code, title, title, body);

	g_free(title);
	g_free(body);
	return r;
}

/* render_xml - the letter as a small XML document */
static char *render_xml(const struct doc *d)
{
	char *title = g_markup_escape_text(d->title, -1);
	char *body = markup(d, "  <p>", "<br/>", "</p>\n");
	char *r = g_strdup_printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				  "<letter lang=\"%s\">\n  <subject>%s</subject>\n%s</letter>\n",
				  d->l->code, title, body);

	g_free(title);
	g_free(body);
	return r;
}

/* qp - quoted-printable (RFC 2045) of UTF-8 text, lines <= 76 */
static char *qp(const char *s)
{
	GString *g = g_string_new(NULL);
	int col = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char enc[4];
		int w;

		if (*p == '\n') {
			g_string_append(g, "\r\n");
			col = 0;
			continue;
		}
		if ((*p >= 33 && *p <= 126 && *p != '=') || (*p == ' ' && p[1] != '\n' && p[1]))
			w = snprintf(enc, sizeof enc, "%c", *p);
		else
			w = snprintf(enc, sizeof enc, "=%02X", *p);
		if (col + w > 75) {
			g_string_append(g, "=\r\n");
			col = 0;
		}
		g_string_append(g, enc);
		col += w;
	}
	return g_string_free(g, FALSE);
}

/* b64_lines - base64 in lines of 76 */
static char *b64_lines(const guint8 *d, gsize n)
{
	char *b = g_base64_encode(d, n);
	GString *g = g_string_new(NULL);

	for (size_t i = 0, l = strlen(b); i < l; i += 76)
		g_string_append_printf(g, "%.76s\r\n", b + i);
	g_free(b);
	return g_string_free(g, FALSE);
}

/* render_eml - the letter as a MIME e-mail with a PDF attachment */
static char *render_eml(const struct doc *d, int i)
{
	char *text = plain(d), *body = qp(text);
	GByteArray *pdf = render_pdf(d, 1, 1);
	char *att = b64_lines(pdf->data, pdf->len);
	char *subj = g_base64_encode((const guchar *)d->title, strlen(d->title));
	char *from = g_base64_encode((const guchar *)d->name, strlen(d->name));
	char *r = g_strdup_printf(
		"From: =?UTF-8?B?%s?= <%s>\r\n"
		"To: Poststelle <poststelle@agency.example>\r\n"
		"Subject: =?UTF-8?B?%s?=\r\n"
		"Date: Wed, 12 Mar 2025 09:%02d:00 +0100\r\n"
		"Message-ID: <doc-%04d@mkcorpus.invalid>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"=_mkcorpus_%04d\"\r\n\r\n"
		"This is a multi-part message in MIME format.\r\n"
		"--=_mkcorpus_%04d\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n%s\r\n"
		"--=_mkcorpus_%04d\r\n"
		"Content-Type: application/pdf; name=\"anlage.pdf\"\r\n"
		"Content-Disposition: attachment; filename=\"anlage.pdf\"\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n%s"
		"--=_mkcorpus_%04d--\r\n",
		from, d->email, subj, i % 60, i, i, i, body, i, att, i);

	g_free(text);
	g_free(body);
	g_free(att);
	g_free(subj);
	g_free(from);
	g_byte_array_free(pdf, TRUE);
	return r;
}

/* ---- one regular document ---------------------------------------------------------- */

static int write_format(const char *fmt, const struct doc *d, int i)
{
	char name[64];
	GByteArray *b = NULL;
	char *s = NULL, *conv = NULL;
	gsize n = 0;
	int rc;

	snprintf(name, sizeof name, "doc-%04d.%s", i,
		 strcmp(fmt, "txt16") == 0 || strcmp(fmt, "latin1") == 0 ? "txt" : fmt);
	if (strcmp(fmt, "txt16") == 0 || strcmp(fmt, "latin1") == 0)
		snprintf(name + strlen(name) - 4, 24, "-%s.txt", fmt);
	if (strcmp(fmt, "pdf") == 0)
		b = render_pdf(d, 1, 1);
	else if (strcmp(fmt, "docx") == 0)
		b = render_docx(d);
	else if (strcmp(fmt, "odt") == 0)
		b = render_odt(d);
	else if (strcmp(fmt, "html") == 0)
		s = render_html(d);
	else if (strcmp(fmt, "xml") == 0)
		s = render_xml(d);
	else if (strcmp(fmt, "eml") == 0)
		s = render_eml(d, i);
	else if (strcmp(fmt, "txt") == 0)
		s = plain(d);
	else if (strcmp(fmt, "txt16") == 0 || strcmp(fmt, "latin1") == 0) {
		char *t = plain(d);
		int u16 = strcmp(fmt, "txt16") == 0;

		conv = g_convert(t, -1, u16 ? "UTF-16LE" : "ISO-8859-1", "UTF-8", NULL, &n, NULL);
		if (conv == NULL) {	/* Polish does not fit Latin-1: UTF-8 it is */
			conv = t;
			n = strlen(t);
		} else {
			g_free(t);
		}
		b = g_byte_array_new();
		if (u16)
			g_byte_array_append(b, (const guint8 *)"\xFF\xFE", 2);
		g_byte_array_append(b, (const guint8 *)conv, (guint)n);
		g_free(conv);
	} else {
		fprintf(stderr, "mkcorpus: unknown format '%s'\n", fmt);
		return -1;
	}
	rc = b ? put(name, b->data, b->len, "done") : put(name, s, strlen(s), "done");
	if (b)
		g_byte_array_free(b, TRUE);
	g_free(s);
	return rc;
}

/* ---- the hostile set ---------------------------------------------------------------------- */

/* bomb_docx - word/document.xml inflates to mb MiB from ~1/1000 of that */
static GByteArray *bomb_docx(unsigned mb)
{
	static const char head[] = "<w:document xmlns:w=\"http://schemas.openxmlformats.org/"
				   "wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>";
	static const char tail[] = "</w:t></w:r></w:p></w:body></w:document>";
	enum { CHUNK = 1 << 20 };
	char *chunk = malloc(CHUNK);
	GByteArray *c = g_byte_array_new(), *one = g_byte_array_new();
	uint32_t crc, crc_chunk;
	struct zip z;
	z_stream zs;

	memset(chunk, 'A', CHUNK);
	memset(&zs, 0, sizeof zs);
	deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	deflate_raw(&zs, head, sizeof head - 1, Z_FULL_FLUSH, c);
	/* after a full flush the state is reset, so every chunk compresses alike */
	deflate_raw(&zs, chunk, CHUNK, Z_FULL_FLUSH, one);
	for (unsigned i = 0; i < mb; i++)
		g_byte_array_append(c, one->data, one->len);
	deflate_raw(&zs, tail, sizeof tail - 1, Z_FINISH, c);
	deflateEnd(&zs);
	crc = (uint32_t)crc32(0, (const Bytef *)head, sizeof head - 1);
	crc_chunk = (uint32_t)crc32(0, (const Bytef *)chunk, CHUNK);
	for (unsigned i = 0; i < mb; i++)
		crc = (uint32_t)crc32_combine(crc, crc_chunk, CHUNK);
	crc = (uint32_t)crc32_combine(crc, crc32(0, (const Bytef *)tail, sizeof tail - 1),
				      sizeof tail - 1);
	zip_start(&z);
	zip_add(&z, "[Content_Types].xml", ct_xml, 1);
	zip_add(&z, "_rels/.rels", rels_xml, 1);
	zip_header(&z, "word/document.xml", 8, crc, c->len,
		   (uint32_t)((uint64_t)mb * CHUNK + sizeof head - 1 + sizeof tail - 1));
	g_byte_array_append(z.out, c->data, c->len);
	g_byte_array_free(c, TRUE);
	g_byte_array_free(one, TRUE);
	free(chunk);
	return zip_finish(&z);
}

static const char billion_laughs[] =
	"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
	" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	"]>\n<lolz>&lol9;</lolz>\n";

static const char xxe[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<!DOCTYPE letter [<!ENTITY secret SYSTEM \"file:///etc/passwd\">]>\n"
	"<letter><subject>Antrag auf Akteneinsicht</subject>\n"
	"<p>Sehr geehrte Damen und Herren, ich beantrage Akteneinsicht.</p>\n"
	"<p>&secret;</p></letter>\n";

static const unsigned char jpeg[] = {
	0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0xFF, 0xDB, 0x00, 0x43, 0x00, 0x08, 0x06, 0x06, 0x07, 0x06, 0x05,
	0x08, 0x07, 0x07, 0x07, 0x09, 0x09, 0x08, 0x0A, 0x0C, 0x14, 0x0D, 0x0C, 0x0B, 0x0B, 0x0C,
	0x19, 0x12, 0x13, 0x0F, 0xFF, 0xD9,
};

/* oversize - a sparse text file of mb MiB (default just over the 256 MiB input cap) */
static int oversize(unsigned long mb)
{
	static const char name[] = "hostile-oversize.txt";
	static const char head[] = "Sehr geehrte Damen und Herren,\n";
	char *path = g_build_filename(out_dir, name, NULL);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc = 0;

	if (fd < 0 || write(fd, head, sizeof head - 1) != (ssize_t)(sizeof head - 1) ||
	    ftruncate(fd, (off_t)mb << 20) != 0)
		rc = fail(strerror(errno), name);
	if (fd >= 0)
		close(fd);
	g_free(path);
	if (rc == 0)
		note(name, "failed:too_large");
	return rc;
}

/* hostile_links - a symlink to /etc/passwd in the corpus */
static int hostile_links(void)
{
	char *path = g_build_filename(out_dir, "hostile-symlink.pdf", NULL);
	int rc = 0;

	unlink(path);
	if (symlink("/etc/passwd", path) != 0)
		rc = fail(strerror(errno), "hostile-symlink.pdf");
	g_free(path);
	if (rc == 0)
		note("hostile-symlink.pdf", "ok:any");
	return rc;
}

/* put_text_copy - text plus a line that makes copy n's bytes its own */
static int put_text_copy(const char *name, const char *text, int n)
{
	char *t = g_strdup_printf("%sKopie %d\n", text, n);
	int rc = put(name, t, strlen(t), "done");

	g_free(t);
	return rc;
}

/* hostile - the hostile set (see DESCRIPTION) */
static int hostile(const struct doc *d, unsigned bomb_mb, unsigned long oversize_mb)
{
	GByteArray *pdf = render_pdf(d, 2, 1), *enc = test_encrypted_pdf(), *scan = render_pdf(d, 1, 0);
	GByteArray *bomb = bomb_docx(bomb_mb);
	char *html = render_html(d), *text = plain(d);
	int rc = 0;

	rc |= put("hostile-empty.pdf", "", 0, "failed:empty_file");
	rc |= put("hostile-jpeg.pdf", jpeg, sizeof jpeg, "failed:unsupported_type");
	rc |= put("hostile-truncated.pdf", pdf->data, pdf->len * 3 / 5, "failed:corrupt_pdf");
	rc |= put("hostile-encrypted.pdf", enc->data, enc->len, "failed:encrypted_pdf");
	rc |= put("hostile-scan.pdf", scan->data, scan->len, "failed:no_text_layer");
	rc |= put("hostile-billion-laughs.xml", billion_laughs, sizeof billion_laughs - 1,
		  "failed:entity_expansion");
	rc |= put("hostile-xxe.xml", xxe, sizeof xxe - 1, "done");
	rc |= put("hostile-zipbomb.docx", bomb->data, bomb->len, "failed:zip_bomb");
	rc |= put("hostile-script.html", html, strlen(html), "done");
	rc |= put("Antrag mit Leerzeichen.pdf", pdf->data, pdf->len, "done");
	/* distinct bytes, or the pipeline rightly records copies as duplicates */
	rc |= put_text_copy("Beschwerde über Gebühren – Müller.txt", text, 1);
	rc |= put_text_copy("zeile\numbruch.txt", text, 2);
	rc |= put_text_copy("ung\xFCltig-\xFF\xFE.txt", text, 3);
	rc |= oversize(oversize_mb);
	rc |= hostile_links();
	g_byte_array_free(pdf, TRUE);
	g_byte_array_free(enc, TRUE);
	g_byte_array_free(scan, TRUE);
	g_byte_array_free(bomb, TRUE);
	g_free(html);
	g_free(text);
	return rc;
}

/* ---- main ------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: mkcorpus --out DIR [--count N] [--seed S] [--formats LIST]\n"
		"                [--pdf-pages N] [--hostile] [--bomb-mb N] [--oversize-mb N]\n"
		"                [--manifest FILE]\n"
		"formats: pdf,docx,odt,html,xml,eml,txt,txt16,latin1 (default: all)\n");
}

struct opts {
	const char *out, *formats, *manifest;
	int count, pdf_pages, hostile;
	unsigned long seed, bomb_mb, oversize_mb;
};

/* parse - options into o: 0, 1 for --help, -1 for a usage error */
static int parse(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--hostile") == 0) {
			o->hostile = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0)
			return 1;
		if (v == NULL)
			return -1;
		i++;
		if (strcmp(a, "--out") == 0)
			o->out = v;
		else if (strcmp(a, "--count") == 0)
			o->count = atoi(v);
		else if (strcmp(a, "--seed") == 0)
			o->seed = strtoul(v, NULL, 10);
		else if (strcmp(a, "--formats") == 0)
			o->formats = v;
		else if (strcmp(a, "--pdf-pages") == 0)
			o->pdf_pages = atoi(v);
		else if (strcmp(a, "--bomb-mb") == 0)
			o->bomb_mb = strtoul(v, NULL, 10);
		else if (strcmp(a, "--oversize-mb") == 0)
			o->oversize_mb = strtoul(v, NULL, 10);
		else if (strcmp(a, "--manifest") == 0)
			o->manifest = v;
		else
			return -1;
	}
	return o->out && o->count >= 0 && o->pdf_pages >= 0 && o->bomb_mb > 0 && o->bomb_mb < 4096 &&
	       o->oversize_mb > 0 ? 0 : -1;
}

/* long_pdf - long-N.pdf, a letter repeated over N pages */
static int long_pdf(int pages)
{
	struct doc d;
	GByteArray *b;
	char name[64];
	int rc;

	make_doc(&d, &langs[0], K_PERMIT);
	b = render_pdf(&d, pages, 1);
	snprintf(name, sizeof name, "long-%d.pdf", pages);
	rc = put(name, b->data, b->len, "done");
	g_byte_array_free(b, TRUE);
	doc_free(&d);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = { NULL, "pdf,docx,odt,html,xml,eml,txt,txt16,latin1", NULL, 10, 0, 0, 1, 2048, 257 };
	char **fmts;
	int nf, rc = 0;

	if ((rc = parse(argc, argv, &o)) != 0) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	if (g_mkdir_with_parents(o.out, 0755) != 0) {
		fprintf(stderr, "mkcorpus: cannot create '%s': %s\n", o.out, strerror(errno));
		return 1;
	}
	if (o.manifest && (manifest = fopen(o.manifest, "w")) == NULL) {
		fprintf(stderr, "mkcorpus: cannot write '%s': %s\n", o.manifest, strerror(errno));
		return 1;
	}
	out_dir = o.out;
	rng_state ^= o.seed * 0x9E3779B97F4A7C15ULL;
	fmts = g_strsplit(o.formats, ",", -1);
	nf = (int)g_strv_length(fmts);
	for (int i = 0; i < o.count && rc == 0 && nf > 0; i++) {
		struct doc d;

		make_doc(&d, &langs[(i / nf + i) % N_LANGS], (int)rnd(N_KINDS));
		rc = write_format(fmts[i % nf], &d, i + 1);
		doc_free(&d);
	}
	if (rc == 0 && o.pdf_pages > 0)
		rc = long_pdf(o.pdf_pages);
	if (rc == 0 && o.hostile) {
		struct doc d;

		make_doc(&d, &langs[0], K_COMPLAINT);
		rc = hostile(&d, (unsigned)o.bomb_mb, o.oversize_mb);
		doc_free(&d);
	}
	g_strfreev(fmts);
	if (manifest && fclose(manifest) != 0)
		rc = fail(strerror(errno), o.manifest);
	cairo_debug_reset_static_data();
	FcFini();
	return rc ? 1 : 0;
}
