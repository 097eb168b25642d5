#!/bin/sh
# docket batch over a generated corpus: every dropped file ends in done/ or
# failed/ (with its error.json) and has exactly one receipt row; ignored
# names stay in the inbox; a second run finds nothing to do.
. "$(dirname "$0")/lib.sh"
sp=$T_TMP/spool db=$T_TMP/db.sqlite in=$T_TMP/spool/inbox
mkdir -p "$in"
mk=$DOCKET_BUILD/tests/tools/mkcorpus
if [ -x "$mk" ]; then
	"$mk" --out "$in" --count 40 --hostile --bomb-mb 64 --manifest "$T_TMP/manifest" \
		>/dev/null 2>"$T_TMP/mk.err" ||
		{ fail corpus "mkcorpus failed: $(head -1 "$T_TMP/mk.err")"; exit 0; }
else
	i=0
	while [ $i -lt 40 ]; do
		printf 'Sehr geehrte Damen und Herren, Antrag Nr. %d vom 12. März 2025.\n' $i >"$in/doc-$i.txt"
		i=$((i + 1))
	done
	: >"$in/empty.pdf"
	printf '\377\330\377\340 not really a jpeg' >"$in/photo.pdf"
	ln -s /etc/passwd "$in/link.txt"
fi
# Our own odd cases on top of whatever the generator wrote.
printf 'same bytes\n' >"$in/copy one.txt"
printf 'same bytes\n' >"$in/copy two.txt"
printf 'accent\n' >"$in/$(printf 'R\303\251sum\303\251 \303\234bersicht.txt')"
printf 'newline\n' >"$in/$(printf 'new\nline.txt')"
printf 'invalid utf8\n' >"$in/$(printf 'bad\377name.txt')"
printf 'hidden\n' >"$in/.hidden"
printf 'partial\n' >"$in/upload.part"
dropped=$(find "$in" -mindepth 1 -maxdepth 1 ! -name '.*' ! -name '*.part' -printf x | wc -c)

"$DOCKET_BIN" batch --spool "$sp" --db "$db" --set stable_seconds=0 --quiet 2>"$T_TMP/err"
rc=$?
if [ $rc -eq 0 ]; then pass exit_status; else fail exit_status "docket batch exited $rc: $(tail -1 "$T_TMP/err")"; fi

left=$(ls -A "$in" | sort | tr '\n' ' ')
if [ "$left" = ".hidden upload.part " ]; then pass ignored_names_stay; else fail ignored_names_stay "inbox holds: $left"; fi
if [ -z "$(ls -A "$sp/work")" ]; then pass work_empty; else fail work_empty "work/ holds $(ls -A "$sp/work" | wc -l)"; fi

ndone=$(find "$sp/done" -mindepth 1 -printf x | wc -c)
nfailed=$(find "$sp/failed" -mindepth 1 ! -name '*.error.json' -printf x | wc -c)
if [ $((ndone + nfailed)) -eq "$dropped" ]; then pass all_accounted
else fail all_accounted "dropped $dropped, done $ndone + failed $nfailed"; fi

missing=0
for f in "$sp"/failed/*; do
	case "$f" in *.error.json) continue ;; esac
	[ -f "$f.error.json" ] && grep -q '"code": "' "$f.error.json" || missing=$((missing + 1))
done
if [ $missing -eq 0 ]; then pass error_json_beside; else fail error_json_beside "$missing failed files lack error.json"; fi

rows=$(sqlite3 "$db" "select count(*) from receipts where claim not like '%#%'")
if [ "$rows" -eq "$dropped" ]; then pass one_receipt_each; else fail one_receipt_each "receipts $rows, dropped $dropped"; fi
dups=$(sqlite3 "$db" "select count(*) from receipts where outcome = 'duplicate'")
if [ "$dups" -ge 1 ]; then pass duplicate_recorded; else fail duplicate_recorded "no duplicate receipt"; fi
link=$(sqlite3 "$db" "select count(*) from documents where error_code = 'refused'")
if [ "$link" -ge 1 ] && [ -L "$(find "$sp/failed" -type l | head -1)" ]; then pass symlink_refused
else fail symlink_refused "refused rows $link"; fi
if [ -f "$sp/done/$(printf 'new\nline.txt')" ] && [ -f "$sp/done/$(printf 'bad\377name.txt')" ]; then
	pass odd_names_survive; else fail odd_names_survive "odd names not in done/"; fi

# The generator's expected outcome for each of its files (plain names only).
if [ -f "$T_TMP/manifest" ]; then
	bad=""
	while IFS='	' read -r name want; do
		case "$name$want" in *\\*|*"'"*|*ok:any*) continue ;; esac
		got=$(sqlite3 "$db" "select case d.status when 'done' then 'done' else 'failed:' || d.error_code end
			from receipts r join documents d on d.id = r.doc_id where r.source_name_bytes = cast('$name' as blob)")
		[ "$got" = "$want" ] || bad="$bad $name($got, want $want)"
	done <"$T_TMP/manifest"
	if [ -z "$bad" ]; then pass expected_outcomes; else fail expected_outcomes "$bad"; fi
fi

"$DOCKET_BIN" batch --spool "$sp" --db "$db" --set stable_seconds=0 --quiet 2>/dev/null
rows2=$(sqlite3 "$db" "select count(*) from receipts")
all=$(sqlite3 "$db" "select count(*) from receipts where run_id = (select max(id) from runs)")
if [ "$all" -eq 0 ]; then pass rerun_idle; else fail rerun_idle "second run wrote $all receipts (total $rows2)"; fi
