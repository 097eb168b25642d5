#!/bin/sh
# extract_corpus - `docket extract` over a mkcorpus corpus with its hostile
# set: every document ends as its manifest says ("done", or "failed:SLUG"
# with exactly that slug), and the stored text of the XXE and script cases
# shows neither /etc/passwd nor script, style or iframe content. A document
# whose type has no extractor in this build (unsupported_type where text
# was expected) is counted and reported as skipped, not passed. Then the
# regular documents go through `docket batch`: `docket extract` must print
# byte for byte what `docket show --text` says was stored. Last, the
# command line itself: --help, EX_USAGE, one error line with the slug.
. "$(dirname "$0")/lib.sh"
mk="$DOCKET_BUILD/tests/tools/mkcorpus"
corpus="$T_TMP/corpus"
if ! "$mk" --out "$corpus" --count 27 --seed 11 --hostile --pdf-pages 300 \
		--manifest "$T_TMP/manifest.tsv" 2>"$T_TMP/mk.err"; then
	fail mkcorpus "$(cat "$T_TMP/mk.err")"
	exit 0
fi
pass mkcorpus
tab=$(printf '\t')
bad=0 good=0 unbuilt=0
while IFS="$tab" read -r name expect; do
	file="$corpus/$(printf '%b' "$(printf '%s' "$name" | sed 's/%/%%/g')")"
	if "$DOCKET_BIN" extract "$file" >"$T_TMP/out" 2>"$T_TMP/err"; then
		got=done
	else
		got="failed:$(sed -n "s/.*': \([a-z_]*\): .*/\1/p" "$T_TMP/err" | head -n 1)"
	fi
	if [ "$got" = "$expect" ] || [ "$expect" = "ok:any" ]; then
		good=$((good + 1))
	elif [ "$got" = "failed:unsupported_type" ]; then
		unbuilt=$((unbuilt + 1))
	else
		bad=$((bad + 1))
		echo "# $name: expected $expect, got $got: $(head -c 200 "$T_TMP/err")"
	fi
	case "$name" in
	hostile-xxe.xml|hostile-script.html)
		if grep -q -e 'root:' -e 'MARKER' "$T_TMP/out"; then
			bad=$((bad + 1))
			echo "# $name: stored text holds what must be dropped"
		fi ;;
	esac
done <"$T_TMP/manifest.tsv"
echo "# $good as expected, $bad not, $unbuilt without an extractor in this build"
if [ "$bad" -eq 0 ]; then pass outcomes; else fail outcomes "$bad documents ended wrongly"; fi
if [ "$unbuilt" -gt 0 ]; then
	skip all_formats "$unbuilt documents of types without an extractor in this build"
else
	pass all_formats
fi

# `docket extract` prints exactly what the pipeline stores: run a batch
# over the regular documents and compare with `docket show --text`.
sp="$T_TMP/spool"
mkdir -p "$sp/inbox"
cp "$corpus"/doc-* "$sp/inbox/"
if ! "$DOCKET_BIN" batch --spool "$sp" --db "$T_TMP/db.sqlite" --set stable_seconds=0 --quiet \
		2>"$T_TMP/batch.err"; then
	fail same_text_as_pipeline "docket batch failed: $(tail -n 1 "$T_TMP/batch.err")"
	exit 0
fi
diffs=0 compared=0
for f in "$sp"/done/doc-*; do
	id=$(sha256sum "$f" | cut -d' ' -f1)
	"$DOCKET_BIN" extract "$f" >"$T_TMP/a" 2>/dev/null
	"$DOCKET_BIN" show --db "$T_TMP/db.sqlite" --text "$id" >"$T_TMP/b" 2>/dev/null
	if cmp -s "$T_TMP/a" "$T_TMP/b"; then
		compared=$((compared + 1))
	else
		diffs=$((diffs + 1))
		echo "# $(basename "$f"): docket extract and the stored text differ"
	fi
done
if [ "$diffs" -eq 0 ] && [ "$compared" -gt 20 ]; then
	pass same_text_as_pipeline
else
	fail same_text_as_pipeline "$diffs differ, $compared equal"
fi

# the command line: --help, usage errors, one error line with the slug
if "$DOCKET_BIN" extract --help | grep -q '^usage: docket extract'; then pass help; else fail help "no usage on stdout"; fi
"$DOCKET_BIN" extract >/dev/null 2>&1
if [ $? -eq 64 ]; then pass usage_exit; else fail usage_exit "no FILE did not exit 64 (EX_USAGE)"; fi
"$DOCKET_BIN" extract "$corpus/hostile-empty.pdf" >"$T_TMP/out" 2>"$T_TMP/err"
rc=$?
if [ $rc -eq 65 ] && [ ! -s "$T_TMP/out" ] && [ "$(wc -l <"$T_TMP/err")" -eq 1 ] &&
		grep -q "^docket extract: cannot extract '.*hostile-empty.pdf': empty_file: " "$T_TMP/err"; then
	pass error_line
else
	fail error_line "exit $rc, stderr: $(head -c 200 "$T_TMP/err")"
fi
