#!/bin/sh
# Runs every unit test binary and every integration script, then prints the
# closing line "N passed, N failed, N skipped". Each test prints lines that
# start with PASS, FAIL or SKIP; a binary that dies without printing its
# lines (crash, sanitizer report) counts as one failure.
#
# usage: tests/run.sh BUILD_DIR [PATTERN]
#   BUILD_DIR holds bin/docket and tests/unit/test_* binaries.
#   PATTERN (optional) limits the run to tests whose file name contains it.
set -u
build=${1:?usage: tests/run.sh BUILD_DIR [PATTERN]}
pattern=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
export DOCKET_BIN="$top/$build/bin/docket"
export DOCKET_BUILD="$top/$build"
export DOCKET_TOP="$top"
: "${DOCKET_SHARED:=$top/../shared}"
export DOCKET_SHARED
log=$(mktemp)
pass=0 fail=0 skip=0

run_one() {
	name=$1; shift
	out=$(mktemp)
	"$@" >"$out" 2>"$out.err"
	rc=$?
	cat "$out"
	p=$(grep -c '^PASS ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	s=$(grep -c '^SKIP ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: exited with status $rc"
		f=$((f + 1))
	fi
	if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then
		sed 's/^/  stderr: /' "$out.err" | tail -n 40
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	rm -f "$out" "$out.err"
}

cd "$top/tests" || exit 2
for t in "$top/$build"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	case "$(basename "$t")" in *"$pattern"*) ;; *) continue ;; esac
	run_one "$(basename "$t")" "$t"
done
for t in "$top"/tests/integration/*.sh; do
	[ -f "$t" ] || continue
	case "$(basename "$t")" in *"$pattern"*) ;; *) continue ;; esac
	run_one "$(basename "$t")" sh "$t"
done
rm -f "$log"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
