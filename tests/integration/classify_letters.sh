# Letters in languages no training set has (tests/data/classify/letters.tsv):
# the taxonomy's cue words alone classify them, and so does a model trained
# on ../shared/eval/dev (the agency case: train on its own languages, receive
# others). 30/30 when written; the floors leave a margin of three letters.
. "$(dirname "$0")/lib.sh"
D=$DOCKET_BIN
L=$DOCKET_TOP/tests/data/classify/letters.tsv

# score FILE [classify options] - prints "right total", names the misses on stderr
score() {
	right=0 total=0
	tab=$(printf '\t')
	while IFS="$tab" read -r label lang text; do
		case "$label" in '#'*|'') continue ;; esac
		got=$(printf '%b' "$text" | "$D" classify --threshold 0 "$@" | cut -f1)
		total=$((total + 1))
		if [ "$got" = "$label" ]; then right=$((right + 1)); else echo "  miss: $lang $label -> $got" >&2; fi
	done <"$L"
	echo "$right $total"
}

set -- $(score 2>&1 >"$T_TMP/rules" | sed 's/^/ /' >&2; cat "$T_TMP/rules")
echo "  cue words alone: $1/$2"
[ "$2" -ge 30 ] && [ "$1" -ge 27 ] && pass rules_other_languages || fail rules_other_languages "$1/$2"

DEV=$DOCKET_SHARED/eval/dev
if [ ! -d "$DEV" ]; then
	skip trained_on_dev_other_languages "../shared/eval/dev absent"
	exit 0
fi
for f in "$DEV"/*.gold.json; do
	label=$(sed -n 's/.*"class": *"\([a-z_]*\)".*/\1/p' "$f" | head -n 1)
	printf '{"file": "%s", "label": "%s"}\n' "${f%.gold.json}" "$label"
done >"$T_TMP/dev.jsonl"
"$D" train --labels "$T_TMP/dev.jsonl" -o "$T_TMP/dev.clf" 2>"$T_TMP/train.err" ||
	fail train_on_dev "$(cat "$T_TMP/train.err")"
sed 's/^/  /' "$T_TMP/train.err"
set -- $(score --classifier "$T_TMP/dev.clf" 2>&1 >"$T_TMP/model" | sed 's/^/ /' >&2; cat "$T_TMP/model")
echo "  trained on dev, other languages: $1/$2"
[ "$2" -ge 30 ] && [ "$1" -ge 27 ] && pass trained_on_dev_other_languages ||
	fail trained_on_dev_other_languages "$1/$2"
