# blasbench (make bench-blas) on tiny shapes under two OpenBLAS core types:
# it runs, OpenBLAS and the engine agree within rounding (else exit 1), the
# engine keeps its bitwise rule, every case has a row per thread count and the
# last line is the summary; bad options give EX_USAGE (64). Timing is not
# checked.
. "$(dirname "$0")/lib.sh"

b=$DOCKET_BUILD/tests/tools/blasbench
if [ ! -x "$b" ]; then
	skip run "no $b (make test-bins)"
	exit 0
fi
"$b" --tiny -r 1 --core unset,Zen >"$T_TMP/out" 2>"$T_TMP/err"
rc=$?
[ $rc -eq 0 ] && pass run || fail run "exit $rc: $(head -c 400 "$T_TMP/err")"
rows=$(grep -c '^\(mm\|att\) ' "$T_TMP/out")
[ "$rows" -eq 20 ] && pass rows || fail rows "expected 20 rows, got $rows"
grep -q '^att d=256 ctx=20 n=3  *2  *[0-9.]*  *=-= | ' "$T_TMP/out" &&
	pass engine_bits || fail engine_bits "no attention row with the engine's bits =-="
tail -n 1 "$T_TMP/out" | grep -q '^docket-bench-blas rows=20 blas_faster=[0-9]* blas_faster_conv=[0-9]* blas_faster_bitwise=[0-9]* blas_faster_n1=[0-9]* best_ratio=[0-9.]* best_row=[^ ]* engine_bitwise=yes$' &&
	pass summary || fail summary "unexpected last line: $(tail -n 1 "$T_TMP/out")"
"$b" -t 0 >/dev/null 2>&1
[ $? -eq 64 ] && pass bad_threads || fail bad_threads "expected exit 64"
