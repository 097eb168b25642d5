#!/bin/sh
# make bench: build the standard benchmark models with docket mkmodel (once,
# into a cache directory), then run docket bench on each and print one table
# beside llama.cpp's figures for the same files (issue 4's anchor: c392e50,
# 2 threads, this machine kind).
#
# usage: tests/bench/bench.sh DOCKET_BINARY
# env:   DOCKET_BENCH_CACHE  model cache (default ~/.cache/docket-bench)
#        DOCKET_SHARED       ../shared: real vocab files when present
#        BENCH_ARGS          docket bench options (default "-p 512 -n 128 -t 2")
# A model is rebuilt when the mkmodel command that made it changes; delete
# the cache to force a rebuild after changing the generator itself.
set -u
D=${1:?usage: tests/bench/bench.sh DOCKET_BINARY}
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${DOCKET_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docket-bench}
shared=${DOCKET_SHARED:-$top/../shared}
args=${BENCH_ARGS:--p 512 -n 128 -t 2}
# preset type llama.cpp-pp512 llama.cpp-tg128 (anchor; - where not measured)
models="qwen2.5-0.5b Q4_K_M 233 60.4
qwen2.5-0.5b Q8_0 301 56.6
qwen2.5-0.5b Q4_0 451 89.2
qwen2.5-0.5b F16 346 45.5
llama-3.2-1b Q4_K_M - -"

mkdir -p "$cache" || exit 1

vocab_for() {
	case $1 in
	qwen*) v=$shared/oracle/tokenizers/ggml-vocab-qwen2.gguf ;;
	llama*) v=$shared/oracle/tokenizers/ggml-vocab-llama-bpe.gguf ;;
	*) v= ;;
	esac
	[ -n "$v" ] && [ -f "$v" ] && printf -- '--vocab %s' "$v"
}

# build_model PRESET TYPE - prints the model path; builds it if stale
build_model() {
	f=$cache/$1-$2.gguf
	cmd="mkmodel --preset $1 --type $2 --seed 1 $(vocab_for "$1")"
	if [ ! -f "$f" ] || [ "$(cat "$f.cmd" 2>/dev/null)" != "$cmd" ]; then
		echo "bench: building $f" >&2
		# shellcheck disable=SC2086
		"$D" $cmd --threads 2 -o "$f" >&2 || return 1
		echo "$cmd" >"$f.cmd"
	fi
	echo "$f"
}

echo "$models" | while read -r preset type lpp ltg; do
	build_model "$preset" "$type" >/dev/null || { echo "bench: cannot build $preset $type" >&2; exit 1; }
done || exit 1

if ! "$D" bench --help >/dev/null 2>&1; then
	echo "bench: 'docket bench' is missing from $D; models are ready in $cache" >&2
	exit 1
fi

printf '%-14s %-7s %8s %10s %10s %8s %12s %12s\n' model type MB pp_t/s tg_t/s rss_MB llama.cpp_pp llama.cpp_tg
echo "$models" | {
status=0
while read -r preset type lpp ltg; do
	f=$cache/$preset-$type.gguf
	mb=$(( $(wc -c <"$f") / 1000000 ))
	# shellcheck disable=SC2086
	line=$("$D" bench --model "$f" $args 2>/dev/null | grep '^docket-bench ' | tail -n 1)
	if [ -z "$line" ]; then
		printf '%-14s %-7s %8s %s\n' "$preset" "$type" "$mb" "docket bench failed"
		status=1
		continue
	fi
	val() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
	printf '%-14s %-7s %8s %10s %10s %8s %12s %12s\n' "$preset" "$type" "$mb" \
		"$(val pp_tps)" "$(val tg_tps)" "$(val rss_mb)" "$lpp" "$ltg"
done
exit $status
}
