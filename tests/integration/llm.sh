# docket batch with a fixture model: LLM stages logged, replayed identically with
# other thread counts (batch at 1, replay at 2 and 3), tampering seen by audit
# verify, a mismatching pin refused; without a model the stages are stored as
# skipped; summaries carry their language.
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
# No model: the stages are stored as skipped, export and show say so.
mkdir -p "$T_TMP/s0/inbox"
cp "$T_TMP/spool/inbox/a.txt" "$T_TMP/s0/inbox/"
"$D" batch --spool "$T_TMP/s0" --db "$T_TMP/s0.db" --workers 1 --set model= --set stable_seconds=0 \
	>"$T_TMP/out0" 2>&1 || fail batch_no_model "$(tail -3 "$T_TMP/out0")"
skipped='"llm_stages":[{"stage":"classify","status":"skipped","reason":"no_model"},{"stage":"entities","status":"skipped","reason":"no_model"},{"stage":"summarize","status":"skipped","reason":"no_model"}]}'
case "$("$D" export --db "$T_TMP/s0.db")" in *"$skipped") pass skipped_exported ;;
	*) fail skipped_exported "$("$D" export --db "$T_TMP/s0.db" | cut -c1-300)" ;; esac
id0=$("$D" export --db "$T_TMP/s0.db" | sed 's/^{"id":"\([0-9a-f]*\)".*/\1/')
"$D" show --db "$T_TMP/s0.db" "$id0" | grep -q '^model stages classify, entities, summarize: skipped  (no_model)$' &&
	pass skipped_shown || fail skipped_shown "$("$D" show --db "$T_TMP/s0.db" "$id0" | tail -3)"
# A model that cannot take the document (no room in a 256-position context):
# the document is done with its rule results, its stages stored as failed.
mkdir -p "$T_TMP/s1/inbox"
cp "$T_TMP/spool/inbox/a.txt" "$T_TMP/s1/inbox/"
"$D" batch --spool "$T_TMP/s1" --db "$T_TMP/s1.db" --workers 1 --model "$M" --set llm_ctx=256 \
	--set stable_seconds=0 >"$T_TMP/out1" 2>&1 || fail batch_model_fails "$(tail -3 "$T_TMP/out1")"
n=$(sqlite3 "$T_TMP/s1.db" "SELECT count(*) FROM llm_stages s JOIN documents d ON d.id = s.doc_id
	WHERE d.status = 'done' AND s.status = 'failed' AND s.reason LIKE '%no room%'")
[ "$n" = 3 ] && pass failed_stages_stored || fail failed_stages_stored "$(sqlite3 "$T_TMP/s1.db" 'SELECT * FROM llm_stages')"
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
# the summary's shape, not its figures: documents/minute, then every model stage timed
n=0
for s in llm_prefix llm_classify llm_entities llm_summarize; do
	grep -Eq "^  stage $s +2 documents, [0-9.]+ s total, [0-9.]+ ms average, [0-9.]+ ms max$" \
		"$T_TMP/out" && n=$((n + 1))
done
head -1 "$T_TMP/out" | grep -Eq '^docket: 2 documents in [0-9.]+ s \([0-9.]+ documents/minute\)$' &&
	[ $n -eq 4 ] && pass stage_times || fail stage_times "$(cat "$T_TMP/out")"
n=$("$D" export --db "$T_TMP/r.db" | grep -c '"method":"llm"')
[ "$n" -eq 2 ] && pass llm_labels_exported || fail llm_labels_exported "$n records with an llm method"
n=$("$D" export --db "$T_TMP/r.db" | grep -c '"summary":{"text":"[^"]*","language":"en","method":"llm"}.*"status":"done","reason":null}\]}$')
[ "$n" -eq 2 ] && pass llm_summary_language_and_done || fail llm_summary_language_and_done "$n records"
# docket prompt: the bytes the entities decision of a.txt hashed, and the budgets
ida=$(sha256sum "$T_TMP/spool/done/a.txt" | cut -c1-64)
want=$(sqlite3 "$T_TMP/r.db" "SELECT prompt_sha256 FROM llm_decisions WHERE doc_id = '$ida' AND stage = 'entities'")
got=$("$D" show --db "$T_TMP/r.db" --text "$ida" | "$D" prompt --model "$M" --set llm_ctx=4096 \
	--stage entities --lang en | sha256sum | cut -c1-64)
budget=$("$D" prompt --model "$M" --stage summarize --max-tokens </dev/null)
[ -n "$want" ] && [ "$got" = "$want" ] && [ "$budget" = 120 ] && pass prompt_command ||
	fail prompt_command "prompt hash $got, decision $want, budget $budget"
for t in 2 3; do
	out=$("$D" replay --all --db "$T_TMP/r.db" --model "$M" --set llm_ctx=4096 --threads $t 2>&1)
	case "$out" in *"replayed 6 decisions: 6 identical, 0 mismatched") pass replay_${t}_threads ;;
		*) fail replay_${t}_threads "$out" ;; esac
done
"$D" audit verify --db "$T_TMP/r.db" >/dev/null 2>&1 && pass audit_intact || fail audit_intact "broken chain"
# An auditor's copy with one decision's audit row edited: verify names it.
cp "$T_TMP/r.db" "$T_TMP/t.db"
sqlite3 "$T_TMP/t.db" "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET payload =
	replace(payload, '\"stage\":\"summarize\"', '\"stage\":\"summarise\"') WHERE seq =
	(SELECT max(seq) FROM audit_log WHERE kind = 'decision')" 2>"$T_TMP/err" ||
	fail tamper_setup "$(cat "$T_TMP/err")"
seq=$(sqlite3 "$T_TMP/t.db" "SELECT max(seq) FROM audit_log WHERE kind = 'decision'")
if "$D" audit verify --db "$T_TMP/t.db" >"$T_TMP/out" 2>&1; then
	fail tamper_detected "verify passed a modified decision row"
elif grep -q "$seq" "$T_TMP/out"; then
	pass tamper_detected
else
	fail tamper_detected "$(cat "$T_TMP/out")"
fi
