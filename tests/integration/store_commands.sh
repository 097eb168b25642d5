#!/bin/sh
# docket export/list/show/audit verify against a database built by
# tests/tools/storefill (real store, real binary, real sqlite3 for tampering).
. "$(dirname "$0")/lib.sh"
fill="$DOCKET_BUILD/tests/tools/storefill"
db="$T_TMP/r.db"
[ -x "$fill" ] || { skip all "storefill not built"; exit 0; }
"$fill" "$db" >"$T_TMP/ids" || { fail storefill "could not build the database"; exit 0; }
pdf=$(sed -n 1p "$T_TMP/ids")
D() { "$DOCKET_BIN" "$@" --db "$db"; }

D export >"$T_TMP/out.jsonl"
check export_six_records [ "$(wc -l <"$T_TMP/out.jsonl")" -eq 6 ]
check export_one_duplicate [ "$(grep -c '"status":"duplicate"' "$T_TMP/out.jsonl")" -eq 1 ]
check export_failed_error [ "$(grep -c '"error":{"code":"encrypted_pdf","message":' "$T_TMP/out.jsonl")" -eq 1 ]
check export_keys_in_order grep -q '^{"id":"[0-9a-f]\{64\}","source_name":"rechnung.pdf","received_at":"2025-03-12T09:30:00.000Z","status":"done","error":null,"parent":null,"mime":"application/pdf","pages":2,"text_chars":35,"language":{"code":"de","confidence":0.99},"classification":{"label":"complaint","confidence":1.0,"method":"review","needs_review":false},"entities":\[{"type":"date","text":"12. März 2025","value":"2025-03-12","start":0,"end":14,"method":"rules","confidence":1.0}\],"summary":null,"decisions":\[\],"llm_stages":\[\]}$' "$T_TMP/out.jsonl"
check export_utc_received grep -q '"received_at":"2025-03-15T11:00:00.000Z"' "$T_TMP/out.jsonl"
if command -v sqlite3 >/dev/null; then
	bad=0
	while IFS= read -r line; do
		printf '%s' "$line" >"$T_TMP/line"
		[ "$(sqlite3 :memory: "SELECT json_valid(CAST(readfile('$T_TMP/line') AS TEXT))")" = 1 ] || bad=1
	done <"$T_TMP/out.jsonl"
	check export_valid_json [ "$bad" -eq 0 ]
fi

D export --format csv >"$T_TMP/out.csv"
check csv_header [ "$(head -1 "$T_TMP/out.csv" | tr -d '\r')" = "id,source_name,received_at,status,error_code,error_message,parent,mime,pages,text_chars,language,language_confidence,classification,classification_confidence,classification_method,needs_review,summary,entities,decisions,llm_stages" ]
check csv_quotes_odd_name grep -q '^[0-9a-f]*,"odd$' "$T_TMP/out.csv"
check csv_crlf [ "$(grep -c "$(printf '\r')\$" "$T_TMP/out.csv")" -eq 7 ]

n() { D list "$@" | tail -1; }
check list_all [ "$(n)" = "6 records" ]
check list_status [ "$(n --status failed)" = "1 record" ]
check list_type [ "$(n --type eml)" = "1 record" ]
check list_mime [ "$(n --type=application/pdf)" = "3 records" ]
check list_since [ "$(n --since 2025-03-14)" = "3 records" ]
check list_until_day [ "$(n --until 2025-03-12)" = "2 records" ]
check list_language [ "$(n --language de)" = "2 records" ]
check list_names_safe sh -c "\"$DOCKET_BIN\" list --db '$db' | grep -q 'odd?name'"
D list --status nope >/dev/null 2>"$T_TMP/err"
check list_bad_status_exit [ $? -eq 64 ]
check list_bad_status_one_line [ "$(wc -l <"$T_TMP/err")" -eq 1 ]

D show "$(echo "$pdf" | cut -c1-8)" >"$T_TMP/show"
check show_prefix grep -q "^id  *$pdf\$" "$T_TMP/show"
check show_review grep -q '^category  *complaint' "$T_TMP/show"
check show_copies [ "$(grep -c 'rechnung' "$T_TMP/show")" -eq 3 ]
D show --text "$pdf" >"$T_TMP/text"
check show_text_exact [ "$(printf '12. März 2025\n\nRechnung, Seite zwei' | cmp - "$T_TMP/text" && echo same)" = same ]
D show --json "$pdf" | grep -q '"status":"done"'
check show_json [ $? -eq 0 ]
D show 0000000000 2>"$T_TMP/err"
check show_missing_exit [ $? -eq 66 ]
check show_missing_msg grep -q "^docket show: no document '0000000000'" "$T_TMP/err"

"$DOCKET_BIN" export --db "$T_TMP/none.db" 2>"$T_TMP/err"
check export_no_db_exit [ $? -eq 66 ]
check export_no_db_created [ ! -e "$T_TMP/none.db" ]
D export --format xml 2>/dev/null
check export_bad_format [ $? -eq 64 ]
quiet() { "$@" >/dev/null; }
check export_help quiet "$DOCKET_BIN" export --help
check list_help quiet "$DOCKET_BIN" list --help
check show_help quiet "$DOCKET_BIN" show --help
check audit_help quiet "$DOCKET_BIN" audit verify --help

D audit verify >"$T_TMP/v"
check verify_intact [ $? -eq 0 ]
check verify_counts grep -q '^audit chain intact: 7 records$' "$T_TMP/v"
if command -v sqlite3 >/dev/null; then
	cp "$db" "$T_TMP/r2.db"
	sqlite3 "$T_TMP/r2.db" "UPDATE reviews SET value = 'invoice'"
	"$DOCKET_BIN" audit verify --db "$T_TMP/r2.db" >/dev/null 2>"$T_TMP/err"
	check verify_review_tamper_exit [ $? -eq 65 ]
	check verify_review_tamper_names_seq grep -q '^docket audit: audit chain broken at seq 2: review 1 differs' "$T_TMP/err"
	cp "$db" "$T_TMP/r3.db"
	sqlite3 "$T_TMP/r3.db" "UPDATE classifications SET label = 'appeal'"
	"$DOCKET_BIN" audit verify --db "$T_TMP/r3.db" >/dev/null 2>"$T_TMP/err"
	check verify_results_tamper grep -q '^docket audit: audit chain broken at seq 1: results of document' "$T_TMP/err"
	sqlite3 "$db" "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET payload = replace(payload, 'secret', 'public') WHERE seq = 3"
	D audit verify >/dev/null 2>"$T_TMP/err"
	check verify_tamper_exit [ $? -eq 65 ]
	check verify_tamper_names_seq grep -q '^docket audit: audit chain broken at seq 3: hash does not match the record$' "$T_TMP/err"
else
	skip verify_tamper "sqlite3 command not installed"
fi
