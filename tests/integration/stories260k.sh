#!/bin/sh
# stories260K (a real trained model) through docket generate: greedy output
# must contain Karpathy's reference story from oracle/models/stories260K.md,
# the same bytes for 1 and 2 threads; seeded sampling must repeat itself.
. "$(dirname "$0")/lib.sh"
dir="$DOCKET_SHARED/oracle/models"
model="$dir/stories260K-F32.gguf"
if [ ! -f "$model" ] || [ ! -f "$dir/stories260K.md" ]; then
	skip greedy "no stories260K model in $dir"
	exit 0
fi
# the block after the "-t 0.0" command line of the README, up to the fence
awk '/stories260K.bin -z stories260K\/tok512.bin -t 0.0$/ { on = 1; next }
     on && /^```/ { exit } on { print }' "$dir/stories260K.md" >"$T_TMP/want"
want=$(cat "$T_TMP/want")
gen() {
	"$DOCKET_BIN" generate --model "$model" --prompt "Once upon a time" -n 300 "$@" 2>"$T_TMP/err"
}
if [ ${#want} -lt 500 ]; then
	fail greedy "reference story not found in stories260K.md"
elif ! gen --temp 0 -t 1 >"$T_TMP/g1"; then
	fail greedy "docket generate failed: $(tail -n 1 "$T_TMP/err")"
else
	got=$(cat "$T_TMP/g1")
	case $got in
	*"$want"*) pass greedy ;;
	*) fail greedy "output differs from the reference: $(head -c 200 "$T_TMP/g1")" ;;
	esac
	grep -q 'warning: context of 305 positions exceeds' "$T_TMP/err" &&
		pass ctx_warning || fail ctx_warning "no warning about context_length 128"
	gen --temp 0 -t 2 >"$T_TMP/g2" && cmp -s "$T_TMP/g1" "$T_TMP/g2" &&
		pass greedy_threads || fail greedy_threads "1 and 2 threads differ"
fi
gen --temp 0.9 --seed 7 -t 1 >"$T_TMP/s1" && gen --temp 0.9 --seed 7 -t 2 >"$T_TMP/s2" &&
	gen --temp 0.9 --seed 8 >"$T_TMP/s3" || { fail seeded "docket generate failed"; exit 0; }
if cmp -s "$T_TMP/s1" "$T_TMP/s2" && ! cmp -s "$T_TMP/s1" "$T_TMP/s3"; then
	pass seeded
else
	fail seeded "same seed gave different text, or seeds 7 and 8 the same"
fi
