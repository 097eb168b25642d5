# docket train / docket classify / docket langid through the command line.
. "$(dirname "$0")/lib.sh"
D=$DOCKET_BIN
cat > "$T_TMP/train.jsonl" <<'JSON'
{"text": "Rechnung Nr. 7 über 120,00 EUR zzgl. MwSt, zahlbar in 14 Tagen.", "label": "invoice"}
{"text": "Ich beschwere mich über den Lärm der Baustelle jede Nacht.", "label": "complaint"}
{"text": "Ich bin umgezogen, meine neue Anschrift ist Hauptstraße 5.", "label": "address_change", "lang": "de"}
JSON
if "$D" train --labels "$T_TMP/train.jsonl" -o "$T_TMP/m.clf" 2>"$T_TMP/err"; then
	pass train
else
	fail train "$(cat "$T_TMP/err")"
fi
out=$(echo "Anbei die Rechnung über 99,00 EUR inklusive MwSt." | "$D" classify --classifier "$T_TMP/m.clf")
case "$out" in
	"invoice	"[01].[0-9][0-9]) pass classify_format ;;
	*) fail classify_format "got '$out'" ;;
esac
out=$(echo "Rechnung" | "$D" classify --classifier "$T_TMP/m.clf" --threshold 1.01)
case "$out" in *"	needs_review") pass classify_abstains ;; *) fail classify_abstains "got '$out'" ;; esac
echo '{"text": 3}' > "$T_TMP/bad.jsonl"
"$D" train --labels "$T_TMP/bad.jsonl" -o "$T_TMP/x.clf" 2>"$T_TMP/err"
rc=$?
if [ $rc -eq 65 ] && grep -q "line 1" "$T_TMP/err" && [ ! -e "$T_TMP/x.clf" ]; then
	pass train_rejects_bad_line
else
	fail train_rejects_bad_line "rc=$rc $(cat "$T_TMP/err")"
fi
"$D" classify --classifier "$T_TMP/nonexistent.clf" </dev/null 2>"$T_TMP/err"
[ $? -eq 66 ] && grep -q "cannot open" "$T_TMP/err" && pass classify_missing_model ||
	fail classify_missing_model "$(cat "$T_TMP/err")"
out=$(printf 'Wij laten u weten dat uw aanvraag is goedgekeurd.\n\n' | "$D" langid)
[ "$(echo "$out" | cut -f1 | tr '\n' ' ')" = "nl und " ] && pass langid_lines || fail langid_lines "got '$out'"
