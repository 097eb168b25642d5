# engine commands: docket logits prints the oracle's format with the same
# numbers (stories260K, F32 tolerance 2e-2); docket model info describes a
# model and refuses malformed files with one line and EX_DATAERR (65).
. "$(dirname "$0")/lib.sh"

# model info on malformed files: every stored fuzz seed that is not a valid GGUF
bad=0
for f in "$DOCKET_TOP"/tests/fuzz/corpus/gguf/bad_magic "$DOCKET_TOP"/tests/fuzz/corpus/gguf/truncated \
	"$DOCKET_TOP"/tests/fuzz/corpus/gguf/huge_counts "$DOCKET_TOP"/tests/fuzz/corpus/gguf/bad_offset; do
	"$DOCKET_BIN" model info "$f" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	[ "$rc" -eq 65 ] && [ "$(wc -l <"$T_TMP/err")" -eq 1 ] || { bad=1; echo "  $f: rc $rc"; }
done
[ "$bad" -eq 0 ] && pass model_info_malformed || fail model_info_malformed "expected exit 65 and one error line"

o="$DOCKET_SHARED/oracle"
if [ ! -d "$o" ]; then
	skip logits_format "../shared absent"
	skip model_info "../shared absent"
	exit 0
fi
"$DOCKET_BIN" model info "$o/models/stories260K-F32.gguf" >"$T_TMP/info" 2>&1
if grep -q '^architecture: llama' "$T_TMP/info" && grep -q '^runnable: yes' "$T_TMP/info" &&
	grep -q '^sha256: [0-9a-f]\{64\}$' "$T_TMP/info" && grep -q 'F32 x' "$T_TMP/info"; then
	pass model_info
else
	fail model_info "unexpected output: $(head -c 300 "$T_TMP/info")"
fi

"$DOCKET_BIN" logits --model "$o/models/stories260K-F32.gguf" \
	--tokens-file "$o/reference/prompts/stories260K.p17.txt" --top 16 >"$T_TMP/got" 2>"$T_TMP/err"
ref="$o/reference/stories260K-F32/p17.batched.txt"
# same shape (pos, lse, 16 pairs, 6 decimals), same ids, numbers within 2e-2
if awk 'NR==FNR { for (i = 1; i <= NF; i++) r[FNR, i] = $i; nf[FNR] = NF; n = FNR; next }
	{ if (NF != nf[FNR]) exit 1
	  if ($1 != r[FNR, 1]) exit 1
	  for (i = 2; i <= NF; i++) {
		if ($i !~ /^-?[0-9]+(\.[0-9][0-9][0-9][0-9][0-9][0-9])?$/) exit 1
		d = $i - r[FNR, i]; if (d < 0) d = -d
		if (i % 2 == 0 && d > 0.02) exit 1
		if (i % 2 == 1 && d != 0) exit 1
	  }
	  m = FNR }
	END { if (m != n) exit 1 }' "$ref" "$T_TMP/got"; then
	pass logits_format
else
	fail logits_format "output differs from $ref: $(head -c 200 "$T_TMP/got") $(cat "$T_TMP/err")"
fi
