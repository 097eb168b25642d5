# docket bench on a tiny generated model: both phases run, the figures are
# positive, the last line is the machine-readable summary, -b runs several
# sequences (and then reports generation over a shared prompt), and bad
# options give EX_USAGE (64).
. "$(dirname "$0")/lib.sh"

m=$T_TMP/tiny.gguf
if ! "$DOCKET_BIN" mkmodel --arch qwen2 --type Q4_K_M --seed 3 -o "$m" >/dev/null 2>&1; then
	fail mkmodel "cannot build the tiny model"
	exit 0
fi

for b in 1 3; do
	"$DOCKET_BIN" bench --model "$m" -p 16 -n 4 -t 2 -b $b -r 2 >"$T_TMP/out" 2>"$T_TMP/err"
	last=$(tail -n 1 "$T_TMP/out")
	if echo "$last" | grep -q "^docket-bench model=$m type=Q4_K_M threads=2 pp=16 pp_tps=[0-9.]* tg=4 tg_tps=[0-9.]* rss_mb=[0-9.]*$" &&
		! echo "$last" | grep -q '_tps=0.00' && grep -q '^pp  *16 tokens' "$T_TMP/out" &&
		grep -q "^tg  *$((4 * b)) tokens" "$T_TMP/out" &&
		{ [ $b -eq 1 ] || grep -q "^tg-shared  *$((4 * b)) tokens  *[1-9]" "$T_TMP/out"; }; then
		pass "summary_b$b"
	else
		fail "summary_b$b" "unexpected output: $(head -c 400 "$T_TMP/out") $(cat "$T_TMP/err")"
	fi
done

"$DOCKET_BIN" bench --model "$m" -t 0 >/dev/null 2>&1
[ $? -eq 64 ] && pass bad_threads || fail bad_threads "expected exit 64"
"$DOCKET_BIN" bench --model "$T_TMP/missing.gguf" -p 4 -n 1 >/dev/null 2>"$T_TMP/err"
[ $? -ne 0 ] && [ "$(wc -l <"$T_TMP/err")" -eq 1 ] && pass missing_model || fail missing_model "expected one error line"
