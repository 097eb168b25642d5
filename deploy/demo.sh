#!/bin/sh
# make demo: a fresh spool and database under ./demo, a demo classifier
# trained on the samples' own labels (samples/*.gold.json, "class"), the
# sample documents dropped into the inbox, one "docket batch" run (its
# summary), then the records: language, class, entities and summary.
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
# The documents only: the gold files beside them are labels, not mail.
for f in "$top"/samples/*; do
	case "$f" in *.gold.json) ;; *) cp -p "$f" "$demo/spool/inbox/" ;; esac
done
# Training lines {"file": ..., "label": ...} from the gold files' "class".
for g in "$top"/samples/*.gold.json; do
	label=$(sed -n 's/^  "class": "\([a-z_]*\)",$/\1/p' "$g")
	[ -n "$label" ] && printf '{"file": "%s", "label": "%s"}\n' "${g%.gold.json}" "$label"
done >"$demo/labels.jsonl"
echo "demo: docket train --labels $demo/labels.jsonl -o $demo/classifier.model"
"$docket" train --labels "$demo/labels.jsonl" -o "$demo/classifier.model" || exit $?
# The demo's own settings: no /etc/docket/docket.conf is needed or read.
cat >"$demo/docket.conf" <<CONF
[docket]
spool = $demo/spool
db = $demo/docket.db
stable_seconds = 0
classifier = $demo/classifier.model
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
echo "demo: the documents (docket list; CLASS ends in ? when it needs review):"
"$docket" list --config "$demo/docket.conf"
echo
first=$("$docket" list --config "$demo/docket.conf" --status done | sed -n 2p | cut -c1-12)
echo "demo: one document (docket show $first):"
"$docket" show --config "$demo/docket.conf" "$first"
echo
echo "demo: its result record (docket export --format jsonl):"
"$docket" export --config "$demo/docket.conf" --format jsonl | grep -m1 "^{\"id\":\"$first"
echo
echo "demo: more with: $docket list --config $demo/docket.conf"
echo "      $docket show --config $demo/docket.conf ID"
echo "      $docket review ID --class LABEL --by NAME --config $demo/docket.conf"
echo "      $docket eval --gold $top/samples --classifier $demo/classifier.model"
