#!/bin/sh
# Text analysis through the pipeline: docket batch stores language,
# entities, classification and summary with each document (and with an
# e-mail's attachment); docket export carries them (every entity's text is
# exactly stored_text[start:end], checked against the database); a review
# overrides the label in exports and is audit-logged; docket train reads
# {"id": ...} lines and reviews from the database.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { skip all "sqlite3 command not installed"; exit 0; }
sp=$T_TMP/spool db=$T_TMP/db.sqlite in=$T_TMP/spool/inbox out=$T_TMP/out.jsonl
mkdir -p "$in"
D() { "$DOCKET_BIN" "$@"; }
quiet() { "$@" >/dev/null; }
cat >"$T_TMP/train.jsonl" <<'JSON'
{"text": "Rechnung Nr. 7 über 120,00 EUR zzgl. MwSt, zahlbar innerhalb von 14 Tagen auf unser Konto.", "label": "invoice"}
{"text": "Ich beschwere mich über den Lärm der Baustelle, der jede Nacht bis zwei Uhr dauert.", "label": "complaint"}
{"text": "Facture n° 12 de 300,00 EUR, à régler sous 30 jours par virement.", "label": "invoice"}
{"text": "Je me plains du bruit du chantier voisin toutes les nuits.", "label": "complaint"}
JSON
D train --labels "$T_TMP/train.jsonl" -o "$T_TMP/m.clf" 2>"$T_TMP/err" ||
	{ fail train "$(cat "$T_TMP/err")"; exit 0; }

cat >"$in/rechnung.txt" <<'TXT'
Stadtwerke Musterstadt, Rechnung vom 12. März 2025.

Sehr geehrte Damen und Herren, für die Wasserversorgung im ersten Quartal berechnen wir Ihnen 1.250,00 EUR. Bitte überweisen Sie den Betrag innerhalb von vierzehn Tagen auf das Konto IBAN DE89 3704 0044 0532 0130 00. Bei Fragen erreichen Sie uns unter kundenservice@example.org. Die Rechnung ist ohne Unterschrift gültig.

Mit freundlichen Grüßen
TXT
cat >"$in/plainte.txt" <<'TXT'
Objet : plainte pour nuisances sonores du 3 avril 2024.

Madame, Monsieur, je vous écris pour me plaindre du bruit causé chaque nuit par le chantier voisin. Les travaux commencent avant six heures du matin et empêchent tout le quartier de dormir. Je vous prie de bien vouloir intervenir rapidement. Vous pouvez me joindre à marie.dupont@example.org.

Veuillez agréer mes salutations distinguées.
TXT
cat >"$in/mail.eml" <<'EML'
From: Anna Berg <anna@example.org>
To: poststelle@example.org
Subject: Beschwerde
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Sehr geehrte Damen und Herren, anbei meine Beschwerde über den nächtlichen Baulärm in der Hauptstraße.

--b1
Content-Type: text/plain; charset=utf-8
Content-Disposition: attachment; filename="beschwerde.txt"

Ich beschwere mich hiermit förmlich über den Lärm der Baustelle in der Hauptstraße, der seit dem 2. Mai 2025 jede Nacht bis zwei Uhr dauert. Die Nachtruhe wird dadurch seit Wochen nicht eingehalten.
--b1--
EML
: >"$in/empty.pdf"

D batch --spool "$sp" --db "$db" --set stable_seconds=0 --classifier "$T_TMP/m.clf" \
	>"$T_TMP/summary" 2>"$T_TMP/err"
check batch_exit [ $? -eq 0 ]
check summary_stage_times grep -q '^  stage langid ' "$T_TMP/summary"
D export --db "$db" >"$out"
check five_records [ "$(wc -l <"$out")" -eq 5 ]

# q SQL - run SQL with the export as table r(line) and the database attached as s
q() {
	sqlite3 -cmd "ATTACH '$db' AS s" :memory: "WITH RECURSIVE sp(line, rest) AS (SELECT '', \
		CAST(readfile('$out') AS TEXT) UNION ALL SELECT substr(rest, 1, instr(rest, char(10)) - 1), \
		substr(rest, instr(rest, char(10)) + 1) FROM sp WHERE rest != ''), \
		r AS (SELECT line FROM sp WHERE line != '') $1"
}
rec() { q "SELECT json_extract(line, '$2') FROM r WHERE json_extract(line, '$.source_name') = '$1'"; }

check lang_de [ "$(rec rechnung.txt '$.language.code')" = de ]
check lang_fr [ "$(rec plainte.txt '$.language.code')" = fr ]
check lang_attachment [ "$(rec beschwerde.txt '$.language.code')" = de ]
check attachment_has_parent [ "$(rec beschwerde.txt '$.parent')" = "$(rec mail.eml '$.id')" ]
check failed_no_language [ -z "$(rec empty.pdf '$.language')" ]
check failed_no_entities [ "$(rec empty.pdf '$.entities')" = "[]" ]
ents() { q "SELECT e.value ->> 'value' FROM r, json_each(line, '$.entities') e WHERE \
	line ->> 'source_name' = '$1' AND e.value ->> 'type' = '$2'"; }
check iban_value [ "$(ents rechnung.txt iban)" = DE89370400440532013000 ]
check date_value [ "$(ents rechnung.txt date)" = 2025-03-12 ]
check amount_value [ "$(ents rechnung.txt amount)" = "1250.00 EUR" ]
check email_fr [ "$(ents plainte.txt email)" = marie.dupont@example.org ]
check date_attachment [ "$(ents beschwerde.txt date)" = 2025-05-02 ]
n_ent=$(q "SELECT count(*) FROM r, json_each(line, '$.entities')")
bad=$(q "SELECT count(*) FROM r, json_each(line, '$.entities') e JOIN s.texts t ON \
	t.doc_id = line ->> 'id' WHERE substr(CAST(t.text AS BLOB), (e.value ->> 'start') + 1, \
	(e.value ->> 'end') - (e.value ->> 'start')) IS NOT CAST(e.value ->> 'text' AS BLOB) \
	OR e.value ->> 'method' != 'rules'")
check entities_found [ "$n_ent" -ge 8 ]
check entity_offsets_exact [ "$bad" = 0 ]
check summary_extractive [ "$(rec rechnung.txt '$.summary.method')/$(rec rechnung.txt '$.summary.language')" = extractive/de ]
check summary_every_text [ "$(sqlite3 "$db" "SELECT count(*) FROM summaries WHERE length(text) > 40")" -eq 4 ]
check classified_all_done [ "$(q "SELECT count(*) FROM r WHERE line ->> 'status' = 'done' AND \
	line ->> '$.classification.method' = 'classifier'")" -eq 4 ]
check class_invoice [ "$(rec rechnung.txt '$.classification.label')" = invoice ]
check class_complaint [ "$(rec plainte.txt '$.classification.label')" = complaint ]
D export --db "$db" --format csv >"$T_TMP/out.csv"
check csv_language grep -q ',rechnung.txt,.*,de,0\.[0-9]*,invoice,' "$T_TMP/out.csv"
check list_language [ "$(D list --db "$db" --language fr | tail -1)" = "1 record" ]
check audit_intact quiet D audit verify --db "$db"

id=$(rec plainte.txt '$.id')
D review "$(echo "$id" | cut -c1-10)" --class appeal --by "Anna Berg" --note "a formal appeal" \
	--db "$db" >/dev/null 2>"$T_TMP/err"
check review_exit [ $? -eq 0 ]
D review "$id" --class not_a_label --by anna --db "$db" 2>"$T_TMP/err"
check review_label_checked [ $? -eq 64 ]
D export --db "$db" >"$out"
check review_overrides [ "$(rec plainte.txt '$.classification')" = '{"label":"appeal","confidence":1.0,"method":"review","needs_review":false}' ]
check review_in_view [ "$(sqlite3 "$db" "SELECT category FROM caseworker_documents WHERE document_id = '$id'")" = appeal ]
check review_audited [ "$(sqlite3 "$db" "SELECT json_extract(payload, '$.value') || '/' || json_extract(payload, '$.reviewer') FROM audit_log WHERE kind = 'review'")" = "appeal/Anna Berg" ]
check review_verify quiet D audit verify --db "$db"
D show "$id" --db "$db" >"$T_TMP/show"
check show_language grep -q '^language  *fr' "$T_TMP/show"
check show_entities grep -q '^  *email \[[0-9]*,[0-9]*) rules = marie.dupont@example.org' "$T_TMP/show"

printf '{"id": "%s", "label": "complaint"}\n{"id": "%s", "label": "invoice"}\n' \
	"$id" "$(rec rechnung.txt '$.id' | cut -c1-16)" >"$T_TMP/ids.jsonl"
D train --labels "$T_TMP/ids.jsonl" -o "$T_TMP/ids.clf" --db "$db" 2>"$T_TMP/err"
check train_from_ids [ $? -eq 0 ] && [ -s "$T_TMP/ids.clf" ]
D train --from-reviews -o "$T_TMP/rev.clf" --db "$db" 2>"$T_TMP/err"
check train_from_reviews grep -q '^docket train: 1 reviewed documents$' "$T_TMP/err"
printf '{"id": "0000", "label": "invoice"}\n' >"$T_TMP/bad.jsonl"
D train --labels "$T_TMP/bad.jsonl" -o "$T_TMP/bad.clf" --db "$db" 2>"$T_TMP/err"
check train_unknown_id [ $? -eq 66 ]

cp "$db" "$T_TMP/t1.db"
sqlite3 "$T_TMP/t1.db" "UPDATE reviews SET reviewer = 'mallory'"
D audit verify --db "$T_TMP/t1.db" >/dev/null 2>"$T_TMP/err"
check review_tamper_detected [ $? -eq 65 ]
cp "$db" "$T_TMP/t2.db"
sqlite3 "$T_TMP/t2.db" "UPDATE entities SET value = '1.00 EUR' WHERE type = 'amount'"
D audit verify --db "$T_TMP/t2.db" >/dev/null 2>"$T_TMP/err"
check results_tamper_detected grep -q 'results of document .* were altered' "$T_TMP/err"

D batch --spool "$T_TMP/sp2" --db "$T_TMP/db2" --classifier "$T_TMP/none.clf" 2>"$T_TMP/err"
check bad_classifier_stops_run [ $? -eq 66 ]

# SIGHUP to a classifier that cannot be loaded: the daemon goes on without
# it (method rules) instead of failing every document in the workers (one
# document per worker: the worker already waiting was spawned before the
# reload, the one after it is not)
sp3=$T_TMP/sp3
mkdir -p "$sp3/inbox"
printf '[docket]\nspool = %s\ndb = %s\nstable_seconds = 0\nworkers = 1\nworker_max_docs = 1\nclassifier = %s\n' \
	"$sp3" "$T_TMP/db3" "$T_TMP/m.clf" >"$T_TMP/w.conf"
"$DOCKET_BIN" watch --config "$T_TMP/w.conf" --quiet 2>"$T_TMP/watch.err" &
wpid=$!
# generous limits: they only bound a failing run; under load (a busy CI
# machine, sanitizers) a respawned worker has taken more than 10 s
wait_for() { t=$(( $1 * 10 )); shift; while [ $t -gt 0 ]; do "$@" && return 0; sleep 0.1; t=$((t - 1)); done; return 1; }
cp "$sp/done/rechnung.txt" "$sp3/inbox/one.txt"
wait_for 60 test -f "$sp3/done/one.txt"
printf '[docket]\nspool = %s\ndb = %s\nstable_seconds = 0\nworkers = 1\nworker_max_docs = 1\nclassifier = %s\n' \
	"$sp3" "$T_TMP/db3" "$T_TMP/gone.clf" >"$T_TMP/w.conf"
kill -HUP $wpid
wait_for 30 grep -q 'classifier=disabled' "$T_TMP/watch.err"
check hup_bad_classifier_logged [ $? -eq 0 ]
cp "$sp/done/plainte.txt" "$sp3/inbox/two.txt"
wait_for 60 test -f "$sp3/done/two.txt"
check hup_bad_classifier_still_done [ $? -eq 0 ]
cp "$sp/done/mail.eml" "$sp3/inbox/three.eml"
wait_for 60 test -f "$sp3/done/three.eml"
check hup_bad_classifier_next_done [ $? -eq 0 ]
kill -TERM $wpid
wait $wpid
check hup_rules_method [ "$(sqlite3 "$T_TMP/db3" "SELECT c.method FROM classifications c JOIN documents d ON d.id = c.doc_id WHERE d.source_name = 'three.eml'")" = rules ]

# Results over the reply cap (660 kB of text, 60000 dates): the document is
# stored done with its text, without results, the reason in its audit record
sp4=$T_TMP/sp4
mkdir -p "$sp4/inbox"
{ echo "Sehr geehrte Damen und Herren, hier die Termine."; yes 12.03.2025 | head -n 60000; } \
	>"$sp4/inbox/termine.txt"
D batch --spool "$sp4" --db "$T_TMP/db4" --set stable_seconds=0 --set worker_output_bytes=1M \
	--quiet 2>"$T_TMP/err"
check too_large_still_done [ -f "$sp4/done/termine.txt" ]
check too_large_text_kept [ "$(sqlite3 "$T_TMP/db4" "SELECT count(*) FROM texts WHERE length(text) > 600000")" = 1 ]
check too_large_no_results [ "$(sqlite3 "$T_TMP/db4" "SELECT count(*) FROM languages")" = 0 ]
D show --db "$T_TMP/db4" "$(D list --db "$T_TMP/db4" | sed -n 2p | cut -c1-12)" >"$T_TMP/show4"
check too_large_shown grep -q '^analysis  *results_too_large: ' "$T_TMP/show4"
check too_large_verify quiet D audit verify --db "$T_TMP/db4"
