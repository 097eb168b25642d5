#!/bin/sh
# docket mkmodel from the command line: usage, exit codes, a tiny model,
# the llama2.c conversion (with ../shared), and no file left on failure.
. "$(dirname "$0")/lib.sh"
D=$DOCKET_BIN

if "$D" mkmodel --help | grep -q 'from-llama2c'; then pass help; else fail help "no usage text"; fi

n=$("$D" mkmodel --list-presets | wc -l)
if [ "$n" -eq 7 ]; then pass list_presets; else fail list_presets "$n presets"; fi

"$D" mkmodel --arch llama --type Q9_9 -o "$T_TMP/x.gguf" 2>"$T_TMP/err"
rc=$?
if [ "$rc" -eq 64 ] && grep -q "unknown model type 'Q9_9'" "$T_TMP/err" && [ ! -e "$T_TMP/x.gguf" ]; then
	pass bad_type_is_usage_error
else
	fail bad_type_is_usage_error "exit $rc: $(cat "$T_TMP/err")"
fi

"$D" mkmodel --arch qwen2 --preset qwen3-0.6b -o "$T_TMP/x.gguf" 2>/dev/null
if [ $? -eq 64 ]; then pass arch_xor_preset; else fail arch_xor_preset "accepted both"; fi

if "$D" mkmodel --arch gemma3 --dims n_embd=256,n_ff=256,n_layer=2,n_vocab=300 \
	--type Q4_K_M --seed 5 -o "$T_TMP/g.gguf" >"$T_TMP/out" &&
	grep -q "wrote '$T_TMP/g.gguf'" "$T_TMP/out" && [ -s "$T_TMP/g.gguf" ] &&
	[ "$(head -c 4 "$T_TMP/g.gguf")" = GGUF ]; then
	pass tiny_gemma3
else
	fail tiny_gemma3 "$(cat "$T_TMP/out")"
fi

s=${DOCKET_SHARED:-../shared}/oracle/models
if [ -f "$s/stories260K.bin" ]; then
	if "$D" mkmodel --from-llama2c "$s/stories260K.bin" --llama2c-vocab "$s/tok512.bin" \
		-o "$T_TMP/st.gguf" >/dev/null &&
		[ "$(wc -c <"$T_TMP/st.gguf")" -eq "$(wc -c <"$s/stories260K-F32.gguf")" ]; then
		pass llama2c_convert
	else
		fail llama2c_convert "conversion failed or size differs"
	fi
else
	skip llama2c_convert "../shared absent"
fi

# every architecture's file runs in docket's own engine
if "$D" logits --help >/dev/null 2>&1; then
	for a in llama qwen2 qwen3 gemma3 phi3; do
		f=$T_TMP/e-$a.gguf
		if "$D" mkmodel --arch $a --dims n_vocab=300,n_layer=2 --type Q4_K_M -o "$f" >/dev/null &&
			"$D" logits --model "$f" --tokens "1 5 9" --top 2 >"$T_TMP/l" 2>"$T_TMP/err" &&
			[ "$(wc -l <"$T_TMP/l")" -eq 3 ]; then
			pass "engine_runs_$a"
		else
			fail "engine_runs_$a" "$(head -c 300 "$T_TMP/err")"
		fi
	done
else
	skip engine_runs "docket logits absent"
fi
