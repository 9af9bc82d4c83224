#!/usr/bin/env python3
"""Tokenization speed side by side with Hugging Face tokenizers (one thread).

usage: .venv/bin/python tools/bench_tokenize.py PATH/TO/ingot OUT_DIR [LLAMA_CPP_MODELS]

Text: ../shared/corpus (English and multilingual), repeated to ~4 MB, one
string. Tokenizers: MiniLM's WordPiece and, rebuilt from llama.cpp's
vocabulary files, Llama 3, Qwen2 and GPT-2 BPE. Each side: load time, then
encode throughput (MB of UTF-8 per second), best of 3; ingot's is its CLI
(`tokenize --file -o ids.npy`) minus its load time; both produce the same ids.
"""
import json, os, subprocess, sys, time
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import numpy as np
from tokenizers import Tokenizer
import tokenizer_check as tc


def best(f, n=3):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = f()
        times.append(time.perf_counter() - t0)
    return min(times), r


def main():
    ingot, out = sys.argv[1], sys.argv[2]
    models = sys.argv[3] if len(sys.argv) > 3 else None
    text = "\n".join(tc.corpus_lines())
    text = (text + "\n") * max(1, (4 << 20) // len(text.encode()))
    big = os.path.join(out, "tokenize-bench.txt")
    open(big, "w", encoding="utf-8").write(text)
    mb = len(text.encode()) / 1e6
    cases = []
    minilm = os.path.join(ROOT, ".models", "all-MiniLM-L6-v2", "tokenizer.json")
    if os.path.exists(minilm):
        cases.append(("MiniLM (WordPiece)", minilm))
    if models:
        cases += [(label.split(" (")[0] + " (BPE)", path) for label, path in tc.rebuilt_tokenizers(models, out) if "bert" not in label]
    print("### Tokenization against Hugging Face tokenizers (issue 13)\n")
    print(f"{mb:.1f} MB of corpus text in one string, one thread, best of 3; ids identical on both sides.\n")
    print("| tokenizer | HF load s | ingot load s | HF MB/s | ingot MB/s | ingot / HF |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, path in cases:
        hload, hf = best(lambda: Tokenizer.from_file(path))
        hf.no_padding()
        hf.no_truncation()
        henc, ids = best(lambda: hf.encode(text).ids)
        iload, _ = best(lambda: subprocess.run([ingot, "tokenize", path, "--text", "x"], check=True, capture_output=True))
        npy = os.path.join(out, "tokenize-bench.npy")
        ifull, _ = best(lambda: subprocess.run([ingot, "tokenize", path, "--file", big, "-o", npy, "--force"], check=True, capture_output=True))
        mine = np.load(npy).tolist()
        assert mine == ids, f"{label}: ids differ"
        ienc = max(ifull - iload, 1e-9)
        print(f"| {label} | {hload:.2f} | {iload:.2f} | {mb / henc:.2f} | {mb / ienc:.2f} | {henc / ienc:.2f}x |")


if __name__ == "__main__":
    main()
