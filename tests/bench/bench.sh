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
#        LLAMA_BENCH         a llama-bench binary: run on the same file with the
#                            same -p/-n/-t/-r right after docket, so both columns
#                            and the ratios come from one run (this script never
#                            builds or fetches it); unset, issue 4's anchor
#                            figures fill the llama.cpp columns
# After the table: batched decoding on the first model, aggregate tg for
# B = 1, 4, 8 sequences and the prefix-reuse line.
# A model is rebuilt when the mkmodel command that made it changes; delete
# the cache to force a rebuild after changing the generator itself.
set -u
D=${1:?usage: tests/bench/bench.sh DOCKET_BINARY}
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${DOCKET_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docket-bench}
shared=${DOCKET_SHARED:-$top/../shared}
args=${BENCH_ARGS:--p 512 -n 128 -t 2}
llama=${LLAMA_BENCH:-}

# arg X DEFAULT - the value of option -X in $args, else DEFAULT
arg() {
	a=$1 v=$2
	# shellcheck disable=SC2086
	set -- $args
	while [ $# -gt 1 ]; do
		[ "$1" = "-$a" ] && v=$2
		shift
	done
	echo "$v"
}
np=$(arg p 512) ng=$(arg n 128) nt=$(arg t 2) nr=$(arg r 3)
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

# llama_tps FILE - "pp tg" tokens/s of llama-bench on FILE (its CSV: the
# columns are counted from the end, the values before them may hold commas)
llama_tps() {
	"$llama" -m "$1" -p "$np" -n "$ng" -t "$nt" -r "$nr" -o csv 2>/dev/null | tr -d '"' |
		awk -F, 'NR > 1 && $(NF-6) > 0 { pp = $(NF-1) } NR > 1 && $(NF-5) > 0 { tg = $(NF-1) }
			 END { printf "%s %s\n", pp == "" ? "-" : sprintf("%.2f", pp), tg == "" ? "-" : sprintf("%.2f", tg) }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else printf "-" }'; }

src="llama.cpp c392e50 anchor figures (issue 4)"
[ -n "$llama" ] && src="$llama, same run"
echo "docket bench $args; llama.cpp: $src"
printf '%-14s %-7s %6s %9s %9s %7s %9s %9s %6s %6s\n' model type MB pp_t/s tg_t/s rss_MB \
	llama_pp llama_tg pp_x tg_x
echo "$models" | {
status=0
while read -r preset type lpp ltg; do
	f=$cache/$preset-$type.gguf
	mb=$(( $(wc -c <"$f") / 1000000 ))
	# shellcheck disable=SC2086
	line=$("$D" bench --model "$f" $args 2>/dev/null | grep '^docket-bench ' | tail -n 1)
	if [ -z "$line" ]; then
		printf '%-14s %-7s %6s %s\n' "$preset" "$type" "$mb" "docket bench failed"
		status=1
		continue
	fi
	if [ -n "$llama" ]; then
		l=$(llama_tps "$f")
		lpp=${l% *} ltg=${l#* }
	fi
	val() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
	printf '%-14s %-7s %6s %9s %9s %7s %9s %9s %6s %6s\n' "$preset" "$type" "$mb" \
		"$(val pp_tps)" "$(val tg_tps)" "$(val rss_mb)" "$lpp" "$ltg" \
		"$(ratio "$(val pp_tps)" "$lpp")" "$(ratio "$(val tg_tps)" "$ltg")"
done
exit $status
} || exit 1

# batched decoding on the first model: aggregate tg as a multiple of B = 1,
# and with B = 8 the prefix-reuse line (docket bench -b with -p)
set -- $(echo "$models" | head -n 1)
f=$cache/$1-$2.gguf
echo "batched decoding, $(basename "$f"), -n $ng -t $nt: aggregate tg of B sequences"
single=
for b in 1 4 8; do
	pp=0
	[ "$b" -eq 8 ] && pp=$np
	out=$("$D" bench --model "$f" -p "$pp" -n "$ng" -t "$nt" -r "$nr" -b "$b" 2>/dev/null)
	tps=$(echo "$out" | grep '^docket-bench ' | tr ' ' '\n' | sed -n 's/^tg_tps=//p')
	[ -n "$tps" ] || { echo "B=$b: docket bench failed"; exit 1; }
	[ "$b" -eq 1 ] && single=$tps
	printf 'B=%-3s tg %9s t/s  %s of B=1\n' "$b" "$tps" "$(ratio "$tps" "$single")"
	echo "$out" | grep '^prefix '
done
exit 0
