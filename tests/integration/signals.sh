#!/bin/sh
# docket watch: picks up files as they arrive (a *.part renamed to its
# final name too), SIGHUP reloads the configuration, SIGTERM finishes the
# document in hand (it ends in done/, not work/) and exits 0, a worker
# killed mid-document fails that document (worker_crashed) and is
# replaced, and a document that overruns the wall-clock limit fails with
# code "timeout".
. "$(dirname "$0")/lib.sh"
sp=$T_TMP/spool db=$T_TMP/db.sqlite conf=$T_TMP/docket.conf
mkdir -p "$sp/inbox"
cat >"$conf" <<CONF
[docket]
spool = $sp
db = $db
workers = 1
stable_seconds = 0
rescan_seconds = 0.5
CONF

# big_text FILE MB - a text document (unique to FILE) that takes a while to normalize
big_text() {
	awk -v mb="$2" -v tag="$1" 'BEGIN { line = "Sehr geehrte Damen und Herren, ich beantrage eine Genehmigung " tag;
		n = mb * 1048576 / (length(line) + 1); for (i = 0; i < n; i++) print line }' >"$1"
}

wait_for() {	# wait_for SECONDS COMMAND... - poll until the command succeeds
	t=$(( $1 * 10 )); shift
	while [ $t -gt 0 ]; do "$@" && return 0; sleep 0.1; t=$((t - 1)); done
	return 1
}

"$DOCKET_BIN" watch --config "$conf" --quiet 2>"$T_TMP/watch.err" &
pid=$!
printf 'first letter\n' >"$sp/inbox/late.txt.part"
mv "$sp/inbox/late.txt.part" "$sp/inbox/late.txt"
if wait_for 10 test -f "$sp/done/late.txt"; then pass picks_up_new_file
else fail picks_up_new_file "late.txt not in done/ after 10 s"; fi

kill -HUP $pid
if wait_for 5 grep -q 'reload=ok' "$T_TMP/watch.err"; then pass sighup_reloads
else fail sighup_reloads "no reload=ok in the log"; fi

# The worker is frozen (SIGSTOP) before the file arrives, so the document
# is certainly in hand when SIGTERM comes; it thaws after the SIGTERM.
worker=$(pgrep -P $pid -x extract)
kill -STOP $worker
printf 'in hand at SIGTERM\n' >"$sp/inbox/big.txt"
if wait_for 10 test -f "$sp/work/big.txt"; then
	sleep 0.3
	kill -TERM $pid
	sleep 0.3
	kill -CONT $worker
	wait $pid
	rc=$?
	if [ $rc -eq 0 ] && [ -f "$sp/done/big.txt" ] && [ ! -e "$sp/work/big.txt" ]; then
		pass sigterm_finishes_in_hand
	else
		fail sigterm_finishes_in_hand "exit $rc; work/: $(ls "$sp/work")"
	fi
else
	fail sigterm_finishes_in_hand "big.txt was never claimed"
	kill -CONT $worker; kill -TERM $pid; wait $pid
fi
rows=$(sqlite3 "$db" "select count(*) from documents where status = 'done'")
if [ "$rows" -eq 2 ]; then pass rows_committed; else fail rows_committed "$rows done rows, expected 2"; fi

# A worker that dies mid-document fails only that document; a new worker
# takes the next one.
"$DOCKET_BIN" watch --config "$conf" --quiet 2>>"$T_TMP/watch.err" &
pid=$!
# Frozen first (as above), so the kill certainly hits a document in hand.
sleep 0.5
worker=$(pgrep -P $pid -x extract)
kill -STOP $worker
printf 'the worker dies with this one\n' >"$sp/inbox/crash.txt"
if wait_for 10 test -f "$sp/work/crash.txt"; then
	sleep 0.3
	kill -9 $worker
	wait_for 10 test -f "$sp/failed/crash.txt.error.json"
	printf 'after the crash\n' >"$sp/inbox/after.txt"
	wait_for 10 test -f "$sp/done/after.txt"
	code=$(sqlite3 "$db" "select d.error_code from receipts r join documents d on d.id = r.doc_id where r.source_name = 'crash.txt'")
	if [ "$code" = worker_crashed ] && [ -f "$sp/done/after.txt" ]; then pass worker_crash_fails_one
	else fail worker_crash_fails_one "code '$code', after.txt done: $(ls "$sp/done")"; fi
else
	fail worker_crash_fails_one "crash.txt was never claimed"
fi
kill -TERM $pid
wait $pid

big_text "$sp/inbox/slow.txt" 24
"$DOCKET_BIN" batch --config "$conf" --set doc_timeout_seconds=0.1 --quiet 2>/dev/null
code=$(sqlite3 "$db" "select d.error_code from receipts r join documents d on d.id = r.doc_id where r.source_name = 'slow.txt'")
if [ "$code" = timeout ] && grep -q '"code": "timeout"' "$sp/failed/slow.txt.error.json"; then
	pass timeout_fails_document
else
	fail timeout_fails_document "error_code '$code'"
fi
