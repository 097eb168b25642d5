#!/bin/sh
# make demo: a fresh spool and database under ./demo, samples/ dropped into
# the inbox, one "docket batch" run (its summary), then a few result records.
# usage: deploy/demo.sh [DOCKET_BINARY]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
docket=${1:-$top/build/bin/docket}
case "$docket" in /*) ;; *) docket=$top/$docket ;; esac
demo=$top/demo
if [ ! -x "$docket" ]; then
	echo "demo: '$docket' is not built; run 'make' first" >&2
	exit 1
fi
if [ -z "$(ls -A "$top/samples" 2>/dev/null)" ]; then
	echo "demo: no sample documents in '$top/samples'" >&2
	exit 1
fi
rm -rf "$demo"
mkdir -p "$demo/spool/inbox"
cp -p "$top"/samples/* "$demo/spool/inbox/"
# The demo's own settings: no /etc/docket/docket.conf is needed or read.
cat >"$demo/docket.conf" <<CONF
[docket]
spool = $demo/spool
db = $demo/docket.db
stable_seconds = 0
CONF
echo "demo: $(ls "$demo/spool/inbox" | wc -l) sample documents into $demo/spool/inbox"
echo "demo: docket batch --config $demo/docket.conf"
"$docket" batch --config "$demo/docket.conf" || exit $?
echo
echo "demo: spool after the run:"
for d in done failed; do
	printf '  %-7s %s\n' "$d/" "$(ls "$demo/spool/$d" | grep -vc '\.error\.json$')"
done
echo
echo "demo: first result records (docket export --format jsonl):"
"$docket" export --config "$demo/docket.conf" --format jsonl | head -n 3 |
	cut -c1-400 | sed 's/$/ .../'
echo
echo "demo: more with: $docket list --config $demo/docket.conf"
echo "      $docket show --config $demo/docket.conf ID"
