#!/bin/sh
# Extraction-only pipeline throughput: N typical documents (default 1000;
# PDFs of 1 to 5 pages with --pdf, else mkcorpus's mix of every format)
# through "docket batch" with its sandboxed workers and durable commits
# (WAL, synchronous=FULL), into a fresh spool and database. Prints the
# batch summary; its first line holds documents/minute.
# usage: tests/bench/pipeline.sh [--pdf] [N] [WORKERS]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
pdf=0
[ "${1:-}" = "--pdf" ] && { pdf=1; shift; }
n=${1:-1000} workers=${2:-2}
docket=$top/build/bin/docket mk=$top/build/tests/tools/mkcorpus
[ -x "$docket" ] && [ -x "$mk" ] || { echo "bench: run 'make all test-bins' first" >&2; exit 1; }
t=$(mktemp -d "${TMPDIR:-/tmp}/dkbench.XXXXXX")
trap 'rm -rf "$t"' EXIT
in=$t/spool/inbox
mkdir -p "$in"
if [ $pdf -eq 1 ]; then
	"$mk" --out "$in" --count "$n" --formats pdf >/dev/null
	# Pages 1..5: every document i gets the (i mod 5 + 1)-page letter,
	# made distinct by a trailing PDF comment (a new id, same parse work).
	for p in 2 3 4 5; do mkdir "$t/l$p"; "$mk" --out "$t/l$p" --count 0 --pdf-pages $p >/dev/null; done
	i=0
	for f in "$in"/*.pdf; do
		i=$((i + 1)) p=$((i % 5 + 1))
		[ $p -eq 1 ] || { cat "$t/l$p/long-$p.pdf"; printf '%%bench %d\n' $i; } >"$f"
	done
else
	"$mk" --out "$in" --count "$n" >/dev/null
fi
echo "bench: $n documents, $workers workers, $(du -sh "$in" | cut -f1)"
"$docket" batch --spool "$t/spool" --db "$t/docket.db" --workers "$workers" \
	--set stable_seconds=0 2>/dev/null
