#!/bin/sh
# make bench-llm: end-to-end documents/minute of "docket batch" with the model
# stages on ../shared/eval/dev, for each benchmark model (random weights, real
# vocabularies, built once by docket mkmodel into the cache that bench.sh
# uses), with the batch summary's per-stage breakdown; documents/minute is
# over the whole command (the model check before the run included). When LLAMA_CLI (or
# LLAMA_SIMPLE) names a llama.cpp binary, the same documents also go through
# the naive pipeline: one llama.cpp process per document and stage, on the
# same model file, given the prompt docket renders for that stage
# ("docket prompt": chat framing, templates, the document as docket cuts it)
# and the same token budget; its documents/minute is printed beside docket's.
# This script never builds or downloads llama.cpp.
#
# usage: tests/bench/llm.sh DOCKET_BINARY
# env:   LLM_BENCH_DOCS     first N documents of eval/dev (default: all)
#        LLM_BENCH_MODELS   presets (default "qwen2.5-0.5b gemma3-4b"), Q4_K_M
#        LLM_BENCH_THREADS  threads for docket and llama.cpp (default 2)
#        LLM_BENCH_CTX      llm_ctx (default 4096; also llama.cpp's -c)
#        LLM_BENCH_SET      more settings for docket batch, "key=value ..."
#                           (e.g. "llm_parallel=8")
#        LLAMA_CLI          llama-cli (or a stand-in taking -m -f -n -t -c, e.g.
#                           tests/bench/llama-cli-node.mjs for gemma3)
#        LLAMA_SIMPLE       llama-simple (prompt in argv; it picks its own
#                           thread count, so prefer LLAMA_CLI)
#        DOCKET_BENCH_CACHE, DOCKET_SHARED as in bench.sh
# Measured figures depend on the machine's load; run it alone, unniced, for
# numbers worth quoting.
set -u
D=${1:?usage: tests/bench/llm.sh DOCKET_BINARY}
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${DOCKET_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docket-bench}
shared=$(cd "${DOCKET_SHARED:-$top/../shared}" 2>/dev/null && pwd -P) ||
	{ echo "bench-llm: no shared directory (set DOCKET_SHARED)" >&2; exit 1; }
ndocs=${LLM_BENCH_DOCS:-0}
models=${LLM_BENCH_MODELS:-qwen2.5-0.5b gemma3-4b}
threads=${LLM_BENCH_THREADS:-2}
ctx=${LLM_BENCH_CTX:-4096}
sets=
for kv in ${LLM_BENCH_SET:-}; do sets="$sets --set $kv"; done
llama=${LLAMA_CLI:-${LLAMA_SIMPLE:-}}
kind=cli
[ -z "${LLAMA_CLI:-}" ] && kind=simple
t=$(mktemp -d "${TMPDIR:-/tmp}/dkllm.XXXXXX") || exit 1
trap 'rm -rf "$t"' EXIT
mkdir -p "$cache" || exit 1

vocab_for() {
	case $1 in
	qwen*) echo "$shared/oracle/tokenizers/ggml-vocab-qwen2.gguf" ;;
	gemma3*) echo "$shared/oracle/tokenizers/ggml-vocab-gemma3.gguf" ;;
	*) echo "bench-llm: no vocabulary for preset '$1'" >&2; return 1 ;;
	esac
}

# build_model PRESET - prints the model path; builds it if stale. The
# command is compared without directories, so bench.sh's models (made from
# another checkout's path to the same shared files) are reused.
build_model() {
	f=$cache/$1-Q4_K_M.gguf
	v=$(vocab_for "$1") || return 1
	cmd="mkmodel --preset $1 --type Q4_K_M --seed 1 --vocab $v"
	if [ ! -f "$f" ] || [ "$(sed 's|[^ ]*/||g' "$f.cmd" 2>/dev/null)" != "$(echo "$cmd" | sed 's|[^ ]*/||g')" ]; then
		echo "bench-llm: building $f" >&2
		# shellcheck disable=SC2086
		"$D" $cmd --threads "$threads" -o "$f.tmp" >&2 && mv "$f.tmp" "$f" || return 1
		echo "$cmd" >"$f.cmd"
	fi
	echo "$f"
}

# inbox DIR - the first ndocs documents of eval/dev (all when 0): the files
# with a gold record (eval/dev also holds index.jsonl, which is none)
inbox() {
	mkdir -p "$1"
	ls "$shared/eval/dev" | sed -n 's/\.gold\.json$//p' | sort |
		{ if [ "$ndocs" -gt 0 ]; then head -n "$ndocs"; else cat; fi; } |
		while read -r f; do cp "$shared/eval/dev/$f" "$1/"; done
}

now() { date +%s.%N; }
# calc EXPR - floating-point arithmetic (awk: bc is not installed everywhere)
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

# run_docket MODEL DIR - docket batch; prints its summary, keeps DIR/db
run_docket() {
	inbox "$2/spool/inbox"
	# the largest process's peak RSS (the engine's) when GNU time is there
	timer=
	[ -x /usr/bin/time ] && timer="/usr/bin/time -o $2/rss -f %M"
	a=$(now)
	# shellcheck disable=SC2086
	$timer "$D" batch --spool "$2/spool" --db "$2/db" --model "$1" --set model_sha256= \
		--set llm_ctx="$ctx" --threads "$threads" --set stable_seconds=0 $sets \
		2>"$2/err" >"$2/summary" ||
		{ echo "bench-llm: docket batch failed: $(tail -1 "$2/err")" >&2; return 1; }
	# documents/minute over the whole command, the model check before the run included
	wall=$(calc "$(now) - $a")
	n=$(sed -n 's/^docket: \([0-9]*\) documents in.*/\1/p' "$2/summary")
	printf '%.2f\n' "$(calc "$n * 60 / $wall")" >"$2/rate"
	cat "$2/summary"
	echo "  whole command: $wall s, $(cat "$2/rate") documents/minute"
	[ -s "$2/rss" ] && echo "  peak RSS of the largest process: $(($(tail -1 "$2/rss") / 1024)) MB${sets:+ (}${sets# }${sets:+)}"
	# the engine process's accounting (stages/llm_impl.h note 9), one field a line
	sed -n 's/.*stage=engine docs=/docs=/p' "$2/err" | tr ' ' '\n' | sed 's/^/  engine /'
}

# llama_one MODEL PROMPT_FILE N - one naive llama.cpp generation
llama_one() {
	if [ "$kind" = cli ]; then
		"$llama" -m "$1" -f "$2" -n "$3" -t "$threads" -c "$ctx" --temp 0 --no-escape \
			-no-cnv --no-display-prompt </dev/null >"$t/llama.out" 2>"$t/llama.err"
	else
		"$llama" -m "$1" -n "$3" "$(cat "$2")" </dev/null >"$t/llama.out" 2>"$t/llama.err"
	fi
}

# run_naive MODEL DIR - every done document of DIR/db, one process per stage
run_naive() {
	sqlite3 -separator ' ' "$2/db" "SELECT d.id, coalesce(l.code, '') FROM documents d LEFT JOIN
		languages l ON l.doc_id = d.id WHERE d.status = 'done' ORDER BY d.id" >"$2/docs"
	n=0 total=0 cls=0 ent=0 sum=0
	while read -r id lang; do
		"$D" show --db "$2/db" --text "$id" >"$t/text"
		for s in classify entities summarize; do
			# shellcheck disable=SC2086
			"$D" prompt --model "$1" --set llm_ctx="$ctx" --stage $s ${lang:+--lang $lang} \
				<"$t/text" >"$t/prompt" || return 1
			budget=$("$D" prompt --model "$1" --set llm_ctx="$ctx" --stage $s --max-tokens </dev/null)
			a=$(now)
			llama_one "$1" "$t/prompt" "$budget" ||
				{ echo "bench-llm: llama.cpp failed: $(tail -1 "$t/llama.err")" >&2; return 1; }
			d=$(calc "$(now) - $a")
			case $s in classify) cls=$(calc "$cls + $d") ;;
				entities) ent=$(calc "$ent + $d") ;; *) sum=$(calc "$sum + $d") ;; esac
		done
		n=$((n + 1))
	done <"$2/docs"
	total=$(calc "$cls + $ent + $sum")
	printf 'naive llama.cpp (%s, one process per document and stage): %d documents in %.1f s (%.2f documents/minute)\n' \
		"$(basename "$llama")" "$n" "$total" "$(calc "$n * 60 / $total")"
	printf '  stage %-13s %.1f s total\n' classify "$cls" entities "$ent" summarize "$sum"
	echo "$n $total" >"$2/naive"
}

rows=
for preset in $models; do
	m=$(build_model "$preset") || { echo "bench-llm: cannot build $preset" >&2; exit 1; }
	dir=$t/$preset
	mkdir -p "$dir"
	echo "== $preset Q4_K_M ($(($(wc -c <"$m") / 1000000)) MB), $threads threads, llm_ctx $ctx"
	run_docket "$m" "$dir" || exit 1
	dk=$(cat "$dir/rate")
	nv=-
	if [ -n "$llama" ]; then
		if run_naive "$m" "$dir"; then
			read -r n total <"$dir/naive"
			nv=$(printf '%.2f' "$(calc "$n * 60 / $total")")
		else
			nv=failed
		fi
	fi
	rows="$rows$preset $dk $nv
"
done
printf '\n%-14s %16s %20s\n' model docket_docs/min naive_llama_docs/min
printf '%s' "$rows" | while read -r p a b; do printf '%-14s %16s %20s\n' "$p" "$a" "$b"; done
