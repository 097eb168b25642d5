# The model stages with a fixture model of every architecture docket runs
# (llama, qwen2, qwen3, gemma3, phi3), each with its family's real
# vocabulary from the oracle, on documents of eval/dev in four languages:
# every entity output is JSON of schemas/llm-entities.schema.json (checked
# here with SQLite's JSON functions against the limits read from the
# schema file, not by docket's own grammar), every kept entity is the
# stored text's bytes at its offsets, every label is one of the taxonomy's,
# "docket replay --all" at another thread count gives the same bytes, and
# the instructions before the letter are evaluated once for all languages.
# Random weights make the outputs nonsense, which is the point: the
# guarantees must hold whatever the model says.
. "$(dirname "$0")/lib.sh"
D=$DOCKET_BIN
[ -n "$DOCKET_SHARED" ] && [ -d "$DOCKET_SHARED/eval/dev" ] || { skip llm_archs "no shared directory"; exit 0; }
V=$DOCKET_SHARED/oracle/tokenizers
SCHEMA=$DOCKET_TOP/schemas/llm-entities.schema.json
DIMS=n_embd=64,n_ff=96,n_head=2,n_head_kv=1,head_dim=32,n_layer=1,n_ctx=4096
mkdir -p "$T_TMP/docs"
# one document each in Dutch, German, French and English
for d in d001.docx d013.docx d011.odt d036.txt; do
	[ -f "$DOCKET_SHARED/eval/dev/$d" ] && cp "$DOCKET_SHARED/eval/dev/$d" "$T_TMP/docs/"
done
n_docs=$(ls "$T_TMP/docs" | wc -l)
labels=$(grep -v '^#' "$DOCKET_TOP/prompts/taxonomy.tsv" | cut -f1 | sort -u | sed "s/.*/'&'/" | paste -sd, -)

# bad_entity_outputs DB - entity decisions that break the schema's rules
bad_entity_outputs() {
	sqlite3 "$1" "SELECT count(*) FROM llm_decisions d,
		(SELECT json_extract(s, '\$.properties.entities.maxItems') AS max_items,
			json_extract(s, '\$.properties.entities.items.properties.text.maxLength') AS max_len,
			json_extract(s, '\$.properties.entities.items.properties.text.minLength') AS min_len,
			json_extract(s, '\$.properties.entities.items.properties.type.enum') AS types
		 FROM (SELECT CAST(readfile('$SCHEMA') AS TEXT) AS s)) k
	WHERE d.stage = 'entities' AND (NOT json_valid(d.output)
		OR json_type(d.output) != 'object'
		OR (SELECT count(*) FROM json_each(d.output)) != 1
		OR json_type(d.output, '\$.entities') IS NOT 'array'
		OR json_array_length(d.output, '\$.entities') > k.max_items
		OR EXISTS (SELECT 1 FROM json_each(d.output, '\$.entities') e
			WHERE e.type != 'object'
			OR (SELECT count(*) FROM json_each(e.value)) != 2
			OR json_type(e.value, '\$.type') IS NOT 'text'
			OR json_extract(e.value, '\$.type') NOT IN (SELECT value FROM json_each(k.types))
			OR json_type(e.value, '\$.text') IS NOT 'text'
			OR length(json_extract(e.value, '\$.text')) NOT BETWEEN k.min_len AND k.max_len))"
}

# check_arch ARCH VOCAB - build the model, run the batch, check, replay
check_arch() {
	a=$1
	m=$T_TMP/$a.gguf
	db=$T_TMP/$a.db
	"$D" mkmodel --arch "$a" --dims "$DIMS" --type Q8_0 --vocab "$V/$2" --seed 7 -o "$m" \
		>/dev/null 2>"$T_TMP/err" || { fail "${a}_model" "$(cat "$T_TMP/err")"; return; }
	mkdir -p "$T_TMP/$a/inbox"
	cp "$T_TMP"/docs/* "$T_TMP/$a/inbox/"
	"$D" batch --spool "$T_TMP/$a" --db "$db" --workers 1 --model "$m" --threads 1 \
		--set llm_ctx=4096 --set stable_seconds=0 --quiet >/dev/null 2>"$T_TMP/err" ||
		{ fail "${a}_batch" "$(tail -3 "$T_TMP/err")"; return; }
	# the head before the letter names no language: evaluated once for all four
	grep -q "stage=engine docs=$n_docs .* heads_evaluated=1 " "$T_TMP/err" && pass "${a}_one_head" ||
		fail "${a}_one_head" "$(grep -o 'stage=engine.*heads_evaluated=[0-9]*' "$T_TMP/err")"
	n=$(sqlite3 "$db" "SELECT count(*) FROM llm_stages WHERE status = 'done'")
	[ "$n" = $((3 * n_docs)) ] && pass "${a}_stages_done" ||
		fail "${a}_stages_done" "$n of $((3 * n_docs)): $(sqlite3 "$db" "SELECT * FROM llm_stages WHERE status != 'done'" | head -3)"
	n=$(bad_entity_outputs "$db")
	[ "$n" = 0 ] && pass "${a}_entities_schema_valid" || fail "${a}_entities_schema_valid" "$n outputs"
	n=$(sqlite3 "$db" "SELECT count(*) FROM entities e JOIN texts t ON t.doc_id = e.doc_id
		WHERE substr(CAST(t.text AS BLOB), e.start_byte + 1, e.end_byte - e.start_byte)
			!= CAST(e.text AS BLOB)")
	[ "$n" = 0 ] && pass "${a}_entities_verbatim" || fail "${a}_entities_verbatim" "$n entities"
	n=$(sqlite3 "$db" "SELECT count(*) FROM llm_decisions WHERE stage = 'classify' AND
		json_extract(output, '\$.label') NOT IN ($labels)")
	k=$(sqlite3 "$db" "SELECT count(*) FROM classifications WHERE label NOT IN ($labels)")
	[ "$n" = 0 ] && [ "$k" = 0 ] && pass "${a}_labels_from_taxonomy" ||
		fail "${a}_labels_from_taxonomy" "$n decisions, $k classifications"
	out=$("$D" replay --all --db "$db" --model "$m" --set llm_ctx=4096 --threads 2 2>&1)
	want="replayed $((3 * n_docs)) decisions: $((3 * n_docs)) identical, 0 mismatched"
	case "$out" in *"$want") pass "${a}_replay_other_threads" ;;
		*) fail "${a}_replay_other_threads" "$out" ;; esac
}

[ "$n_docs" = 4 ] || fail llm_archs_docs "found $n_docs of the 4 documents in eval/dev"
check_arch llama ggml-vocab-llama-bpe.gguf
check_arch qwen2 ggml-vocab-qwen2.gguf
check_arch qwen3 ggml-vocab-qwen2.gguf
check_arch gemma3 ggml-vocab-gemma3.gguf
check_arch phi3 ggml-vocab-phi-3.gguf
