#!/usr/bin/env python3
"""ingot perplexity side by side with llama.cpp's llama-perplexity.

usage: LLAMA_CPP_TREE=DIR LLAMA_PERPLEXITY=BIN python3 tools/bench_perplexity.py PATH/TO/ingot OUT_DIR

A synthetic Llama (8 layers, hidden 1024, 90M parameters, the llama3
fixture's byte-level tokenizer) written as a Hugging Face folder, converted
to an f32 GGUF by llama.cpp's convert_hf_to_gguf.py, then run by both on
the same text with the same context, chunk count and thread count (2):
PPL ± stderr, wall time and peak RSS (/usr/bin/time -v), best of 3.
ingot reads the GGUF converted into a container. Needs transformers' and
the llama.cpp tree's converter; skipped without LLAMA_CPP_TREE and
LLAMA_PERPLEXITY (a llama-perplexity built with cmake from that tree).
"""
import os, pathlib, re, subprocess, sys
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from benchlib import synthetic_llama, timed
import make_arch_fixtures


def main():
    ingot, out = sys.argv[1], sys.argv[2]
    tree, binary = os.environ.get("LLAMA_CPP_TREE"), os.environ.get("LLAMA_PERPLEXITY")
    if not tree or not binary:
        print("perplexity bench skipped: set LLAMA_CPP_TREE and LLAMA_PERPLEXITY")
        return
    folder = pathlib.Path(out) / "ppl-llama"
    if not (folder / "model.gguf").exists():
        synthetic_llama(str(folder), layers=8, hidden=1024, ffn=2816, vocab=384, heads=16, kv=4, hd=64)
        make_arch_fixtures.convert(folder, pathlib.Path(tree))
    container = os.path.join(out, "ppl-llama.ingot")
    subprocess.run([ingot, "convert", folder / "model.gguf", "-o", container, "--force"], check=True, capture_output=True)
    text = os.path.join(os.path.dirname(ROOT), "shared", "corpus", "gpl-3.txt")
    ctx, chunks = 512, 16
    runs = {"llama-perplexity": [], "ingot perplexity": []}
    for _ in range(3):
        runs["llama-perplexity"].append(timed([binary, "-m", folder / "model.gguf", "-f", text, "-c", ctx, "-b", ctx, "--chunks", chunks, "-t", 2]))
        runs["ingot perplexity"].append(timed([ingot, "perplexity", container, "--file", text, "--ctx", ctx, "--chunks", chunks]))
    llama = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", runs["llama-perplexity"][0][2])
    mine = re.search(r"PPL = ([0-9.]+) ± ([0-9.]+)", runs["ingot perplexity"][0][2])
    print("### Perplexity against llama-perplexity (issue 13)\n")
    print(f"Synthetic Llama, 8 layers, hidden 1024 (90M parameters), f32 GGUF by convert_hf_to_gguf.py; corpus gpl-3.txt, "
          f"ctx {ctx}, {chunks} chunks, 2 threads, best of 3.\n")
    print("| run | PPL | ± | best s | / llama-perplexity | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    ref = min(w for w, _, _ in runs["llama-perplexity"])
    for (name, v), m in zip(runs.items(), (llama, mine)):
        best = min(w for w, _, _ in v)
        print(f"| {name} | {m.group(1)} | {m.group(2)} | {best:.2f} | {best / ref:.2f}x | {max(r for _, r, _ in v):.0f} |")
    print(f"\nPPL difference: {100 * abs(float(mine.group(1)) / float(llama.group(1)) - 1):.3f} % (target ≤ 2 %)")


if __name__ == "__main__":
    main()
