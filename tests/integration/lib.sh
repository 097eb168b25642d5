# Sourced by tests/integration/*.sh: the same PASS/FAIL/SKIP lines as test.h.
# DOCKET_BIN, DOCKET_TOP, DOCKET_SHARED come from tests/run.sh.
T_NAME=$(basename "$0" .sh)
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dkit.XXXXXX")
trap 'rm -rf "$T_TMP"' EXIT
pass() { echo "PASS $T_NAME:$1"; }
fail() { echo "FAIL $T_NAME:$1: $2"; }
skip() { echo "SKIP $T_NAME:$1: $2"; }
# check NAME COMMAND... - PASS if the command succeeds
check() { n=$1; shift; if "$@"; then pass "$n"; else fail "$n" "command failed: $*"; fi; }
