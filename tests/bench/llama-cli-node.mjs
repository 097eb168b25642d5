#!/usr/bin/env node
// A llama-cli stand-in for tests/bench/llm.sh on a llama.cpp prebuilt inside
// node-llama-cpp (for architectures newer than a local llama.cpp build, e.g.
// gemma3 vs c392e50). Takes the llama-cli options llm.sh passes:
//   -m MODEL -f PROMPT_FILE -n N -t THREADS -c CTX [ignored: --temp 0 -no-cnv ...]
// and, like llama-cli, parses special tokens in the prompt, adds BOS when the
// model asks for it, decodes greedily and stops at end-of-generation or N.
// Find node-llama-cpp with NODE_PATH (e.g. /work/llama-check/node_modules).
import {createRequire} from "node:module";
import {readFileSync} from "node:fs";

const require = createRequire(process.env.NODE_PATH ? process.env.NODE_PATH + "/" : import.meta.url);
const {getLlama, LlamaLogLevel} = await import(require.resolve("node-llama-cpp"));
const a = process.argv.slice(2), opt = {};
for (let i = 0; i < a.length; i++)
  if (["-m", "-f", "-n", "-t", "-c"].includes(a[i])) opt[a[i]] = a[++i];
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: opt["-m"]});
const ctx = await model.createContext({contextSize: Number(opt["-c"] || 4096),
  threads: Number(opt["-t"] || 2)});
const seq = ctx.getSequence();
const tokens = model.tokenize(readFileSync(opt["-f"], "utf8"), true);
const bos = model.tokens.bos;
const input = model.tokens.shouldPrependBosToken && bos != null ? [bos, ...tokens] : tokens;
const out = [];
for await (const t of seq.evaluate(input, {temperature: 0})) {
  if (model.isEogToken(t) || out.length >= Number(opt["-n"] || 16)) break;
  out.push(t);
}
process.stdout.write(model.detokenize(out) + "\n");
await ctx.dispose();
await model.dispose();
