#!/bin/sh
# extract_corpus - `docket extract` over a mkcorpus corpus with its hostile
# set: every document ends as its manifest says ("done", or "failed:SLUG"
# with exactly that slug), and the stored text of the XXE and script cases
# shows neither /etc/passwd nor script, style or iframe content. A document
# whose type has no extractor in this build (unsupported_type where text
# was expected) is counted and reported as skipped, not passed.
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
