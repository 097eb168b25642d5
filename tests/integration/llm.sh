# docket batch with a fixture model: LLM stages logged, replayed identically with
# another thread count, tampering seen by audit verify, a mismatching pin refused.
. "$(dirname "$0")/lib.sh"
D=$DOCKET_BIN
M=$T_TMP/m.gguf
"$D" mkmodel --arch llama --dims n_embd=64,n_ff=96,n_head=2,n_head_kv=1,head_dim=32,n_layer=1,n_ctx=4096,n_vocab=320 \
	--type F32 --pure --seed 5 -o "$M" >/dev/null 2>"$T_TMP/err" || fail mkmodel "$(cat "$T_TMP/err")"
mkdir -p "$T_TMP/spool/inbox"
printf 'Dear Sir,\nI, Anna Schmidt, Hauptstrasse 12, 10115 Berlin, complain about the noise.\n' \
	> "$T_TMP/spool/inbox/a.txt"
printf 'Invoice 2025-17 from Bauer GmbH: 120.00 EUR due on 12.03.2025.\n' > "$T_TMP/spool/inbox/b.txt"
SHA=$(sha256sum "$M" | cut -c1-64)
run() { "$D" batch --spool "$T_TMP/spool" --db "$T_TMP/r.db" --workers 1 "$@"; }
if run --model "$M" --set model_sha256=0000000000000000000000000000000000000000000000000000000000000000 \
	>/dev/null 2>"$T_TMP/err"; then
	fail pin_refused "batch ran with a mismatching model_sha256"
elif [ "$(grep -c . "$T_TMP/err")" -eq 1 ] && grep -q "model_sha256" "$T_TMP/err" && [ -n "$(ls "$T_TMP/spool/inbox")" ]; then
	pass pin_refused
else
	fail pin_refused "$(cat "$T_TMP/err")"
fi
if run --model "$M" --set model_sha256="$SHA" --set llm_ctx=4096 --threads 1 >"$T_TMP/out" 2>"$T_TMP/err"; then
	pass batch_with_model
else
	fail batch_with_model "$(tail -3 "$T_TMP/err")"
fi
grep -q "stage llm_classify" "$T_TMP/out" && grep -q "stage llm_summarize" "$T_TMP/out" && pass stage_times ||
	fail stage_times "$(cat "$T_TMP/out")"
n=$("$D" export --db "$T_TMP/r.db" | grep -c '"method":"llm"')
[ "$n" -eq 2 ] && pass llm_labels_exported || fail llm_labels_exported "$n records with an llm method"
out=$("$D" replay --all --db "$T_TMP/r.db" --model "$M" --set llm_ctx=4096 --threads 2 2>&1)
case "$out" in *"replayed 6 decisions: 6 identical, 0 mismatched") pass replay_2_threads ;;
	*) fail replay_2_threads "$out" ;; esac
"$D" audit verify --db "$T_TMP/r.db" >/dev/null 2>&1 && pass audit_intact || fail audit_intact "broken chain"
