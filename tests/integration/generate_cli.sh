#!/bin/sh
# docket generate's command line: help, usage errors and a missing model
# give the documented exit statuses without needing any model.
. "$(dirname "$0")/lib.sh"
"$DOCKET_BIN" generate --help >"$T_TMP/out" 2>&1 && grep -q 'usage: docket generate' "$T_TMP/out" &&
	pass help || fail help "no usage text"
"$DOCKET_BIN" generate --prompt hi >/dev/null 2>&1
[ $? -eq 64 ] && pass no_model || fail no_model "expected exit 64"
"$DOCKET_BIN" generate --model x --prompt hi --temp abc >/dev/null 2>"$T_TMP/err"
[ $? -eq 64 ] && grep -q "bad value 'abc' for --temp" "$T_TMP/err" &&
	pass bad_temp || fail bad_temp "expected exit 64 and a message"
"$DOCKET_BIN" generate --model "$T_TMP/none.gguf" --prompt hi >/dev/null 2>"$T_TMP/err"
rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <"$T_TMP/err")" -eq 1 ] && grep -q 'none.gguf' "$T_TMP/err" &&
	pass missing_file || fail missing_file "exit $rc: $(cat "$T_TMP/err")"
