#!/bin/sh
# docket tokenize against the oracle's tokenizer vectors: for every vocab,
# a short case and the long mixed-script case through the command line
# (the unit test test_tokenizer covers all 46 cases in-process), plus a
# decode round trip.
. "$(dirname "$0")/lib.sh"
dir="$DOCKET_SHARED/oracle/tokenizers"
if [ ! -d "$dir" ]; then
	skip vectors "no shared reference data ($dir)"
	exit 0
fi
# case K of a .inp file (cases end with the separator line)
case_text() {
	awk -v k="$2" 'BEGIN { RS = "\n__ggml_vocab_test__\n" } NR == k { printf "%s", $0 }' "$1"
}
for v in llama-spm phi-3 baichuan gemma3 gpt-2 llama-bpe qwen2 deepseek-llm \
	deepseek-coder falcon starcoder refact mpt gpt-neox bert-bge; do
	f="$dir/ggml-vocab-$v.gguf"
	ok=1
	for k in 12 45; do
		case_text "$f.inp" "$k" >"$T_TMP/in"
		want=$(sed -n "${k}p" "$f.out" | sed 's/^ //')
		got=$("$DOCKET_BIN" tokenize --raw --model "$f" <"$T_TMP/in") || { ok=0; break; }
		if [ "$got" != "$want" ]; then
			fail "$v" "case $k: got '$got', want '$want'"
			ok=0
			break
		fi
	done
	[ $ok = 1 ] && pass "$v"
done
f="$dir/ggml-vocab-llama-bpe.gguf"
printf 'Hello, y'"'"'all!\n' >"$T_TMP/in"
"$DOCKET_BIN" tokenize --raw --model "$f" <"$T_TMP/in" >"$T_TMP/ids" &&
	"$DOCKET_BIN" tokenize --raw --decode --model "$f" <"$T_TMP/ids" >"$T_TMP/back" &&
	cmp -s "$T_TMP/in" "$T_TMP/back" && pass decode_roundtrip || fail decode_roundtrip "text differs"
out=$(echo "12 x" | "$DOCKET_BIN" tokenize --decode --model "$f" 2>&1)
[ $? -eq 65 ] && pass bad_id || fail bad_id "expected exit 65, got: $out"
