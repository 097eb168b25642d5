#!/bin/sh
# kill -9 chaos: a 300-document batch while a random docket process (the
# supervisor, an extract worker or the writer) is SIGKILLed every ~0.3 s;
# the batch is restarted until it completes. Then: exactly one documents
# row per distinct content, one receipt per dropped file, inbox/ and work/
# empty, every file in done/ or failed/, and the audit chain verifies.
. "$(dirname "$0")/lib.sh"
sp=$T_TMP/spool db=$T_TMP/db.sqlite in=$T_TMP/spool/inbox
mkdir -p "$in"
mk=$DOCKET_BUILD/tests/tools/mkcorpus
if [ -x "$mk" ]; then
	"$mk" --out "$in" --count 280 >/dev/null 2>&1 || { fail corpus "mkcorpus failed"; exit 0; }
else
	i=0
	while [ $i -lt 280 ]; do
		awk -v i=$i 'BEGIN { for (k = 0; k < 400; k++) printf "Antrag %d Zeile %d: Sehr geehrte Damen und Herren.\n", i, k }' >"$in/doc-$i.txt"
		i=$((i + 1))
	done
fi
# 20 exact copies: duplicates, never second rows.
i=0
for f in $(ls "$in" | head -20); do cp "$in/$f" "$in/copy-$i-$f"; i=$((i + 1)); done
dropped=$(find "$in" -mindepth 1 -maxdepth 1 -printf x | wc -c)
distinct=$(find "$in" -mindepth 1 -maxdepth 1 -type f -exec sha256sum {} + | cut -c1-64 | sort -u | wc -l)

kills=0 runs=0 start=$(date +%s) rc=1 orphans=""
while [ $rc -ne 0 ] && [ $runs -lt 60 ]; do
	runs=$((runs + 1))
	"$DOCKET_BIN" batch --spool "$sp" --db "$db" --set stable_seconds=0 --quiet 2>>"$T_TMP/err" &
	sup=$!
	kids=""
	while kill -0 $sup 2>/dev/null; do
		sleep 0.3
		kids="$kids $(pgrep -P $sup | tr '\n' ' ')"
		victim=$( { echo $sup; pgrep -P $sup; } | shuf -n 1)
		# Stop killing after 40 s so the run can finish.
		if [ $(( $(date +%s) - start )) -lt 40 ] && [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null; then
			kills=$((kills + 1))
		fi
	done
	wait $sup
	rc=$?
	# A killed supervisor must not leave its workers behind (PDEATHSIG).
	sleep 0.2
	for k in $kids; do
		if [ -n "$(ps -o stat= -p "$k" | grep -v Z)" ] && [ "$(ps -o ppid= -p "$k" | tr -d ' ')" != $$ ]; then
			orphans="$orphans $k"
		fi
	done
done
if [ -z "$orphans" ]; then pass no_orphans; else fail no_orphans "processes$orphans outlived their supervisor"; fi
echo "chaos: $kills kills over $runs runs, $(( $(date +%s) - start )) s" >&2

if [ $rc -eq 0 ]; then pass batch_completes; else fail batch_completes "last run exited $rc after $runs runs"; fi
left=$(find "$in" "$sp/work" -mindepth 1 -printf x | wc -c)
if [ "$left" -eq 0 ]; then pass inbox_and_work_empty; else fail inbox_and_work_empty "$left files left"; fi
n=$(( $(find "$sp/done" -mindepth 1 -printf x | wc -c) + $(find "$sp/failed" -mindepth 1 ! -name '*.error.json' -printf x | wc -c) ))
if [ "$n" -eq "$dropped" ]; then pass nothing_lost; else fail nothing_lost "dropped $dropped, found $n in done/ + failed/"; fi
docs=$(sqlite3 "$db" "select count(*) from documents where parent_id is null")
if [ "$docs" -eq "$distinct" ]; then pass one_row_per_document
else fail one_row_per_document "$docs rows for $distinct distinct files"; fi
rec=$(sqlite3 "$db" "select count(*) from receipts where claim not like '%#%'")
if [ "$rec" -eq "$dropped" ]; then pass one_receipt_per_file
else fail one_receipt_per_file "$rec receipts for $dropped files"; fi
nf=$(find "$sp/failed" -mindepth 1 ! -name '*.error.json' -printf x | wc -c)
rf=$(sqlite3 "$db" "select count(*) from receipts where outcome = 'failed' and claim not like '%#%'")
if [ "$nf" -eq "$rf" ]; then pass spool_agrees_with_rows
else fail spool_agrees_with_rows "$nf files in failed/, $rf failed receipts"; fi
if "$DOCKET_BIN" audit verify --db "$db" >"$T_TMP/audit" 2>&1; then pass audit_verifies
else fail audit_verifies "$(head -1 "$T_TMP/audit")"; fi
