#!/bin/sh
# docket entities: JSON on stdout, byte offsets into stdin, sysexits codes.
. "$(dirname "$0")/lib.sh"

out=$(printf 'Größe: am 3. März 2025 zahlen Sie 12,50 € (IBAN DE89 3704 0044 0532 0130 00).' |
	"$DOCKET_BIN" entities --lang de)
case "$out" in
'['*']')
	pass json_array ;;
*)	fail json_array "output is not one JSON array: $out" ;;
esac
echo "$out" | grep -q '{"type": "date", "text": "3. März 2025", "value": "2025-03-03", "start": 12, "end": 25, "method": "rules", "confidence": 0.99}' &&
	pass date_offsets || fail date_offsets "date line missing or offsets wrong: $out"
echo "$out" | grep -q '"type": "amount", "text": "12,50 €", "value": "12.50 EUR"' &&
	pass amount || fail amount "no 12.50 EUR amount: $out"
echo "$out" | grep -q '"type": "iban", "text": "DE89 3704 0044 0532 0130 00", "value": "DE89370400440532013000"' &&
	pass iban || fail iban "no IBAN: $out"
[ "$(echo "$out" | grep -c '"type"')" -eq 3 ] && pass count || fail count "not 3 entities: $out"

# no --lang: the language is detected; an empty input is an empty array
[ "$(printf '' | "$DOCKET_BIN" entities)" = "[]" ] && pass empty || fail empty "empty input"
printf 'Warszawa, dnia 5 listopada 2024 r. w sprawie wniosku o wydanie zezwolenia' |
	"$DOCKET_BIN" entities | grep -q '"value": "2024-11-05"' &&
	pass detected_language || fail detected_language "Polish date not found without --lang"

printf 'Vorgang 88812 und PRJ-0042' |
	"$DOCKET_BIN" entities --cue Vorgang --pattern '\b(PRJ-\d{4})\b' >"$T_TMP/cfg.json"
grep -q '"text": "88812"' "$T_TMP/cfg.json" && grep -q '"text": "PRJ-0042"' "$T_TMP/cfg.json" &&
	pass config_options || fail config_options "$(cat "$T_TMP/cfg.json")"

"$DOCKET_BIN" entities --help | grep -q '^usage: docket entities' &&
	pass help || fail help "no usage on --help"
echo x | "$DOCKET_BIN" entities --bogus >/dev/null 2>"$T_TMP/err"
[ $? -eq 64 ] && [ "$(wc -l <"$T_TMP/err")" -ge 1 ] && pass bad_option || fail bad_option "want exit 64"
echo x | "$DOCKET_BIN" entities --pattern '([' >/dev/null 2>"$T_TMP/err"
rc=$?
[ $rc -eq 64 ] && grep -q "cannot compile reference pattern '(\['" "$T_TMP/err" &&
	pass bad_pattern || fail bad_pattern "exit $rc: $(cat "$T_TMP/err")"
