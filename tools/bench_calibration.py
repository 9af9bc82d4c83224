#!/usr/bin/env python3
"""Calibrated int4 on all-MiniLM-L6-v2 against llama.cpp's Q4_K_M (issue 14).

usage: LLAMA_CPP_TREE=DIR LLAMA_QUANTIZE=BIN python3 tools/bench_calibration.py PATH/TO/ingot OUT_DIR

The corpus's natural sentences (../shared/corpus/summaries.txt, one per
line, English and multilingual) split in two: the first 400 calibrate, the
other 159 (none of them among the 400) evaluate. Every candidate's mean-
pooled embeddings are compared with transformers' f32 ones on the held-out
sentences (cosine: mean and worst), each run in two real runtimes:
- transformers (torch) on `ingot export --to safetensors` of the candidate;
- llama.cpp (llama-cpp-python) on `ingot export --to gguf` of it.
llama.cpp's own side: convert_hf_to_gguf.py (f32), then `llama-quantize
Q4_K_M`, run by llama-cpp-python on the same token ids.
Bits per weight are over the 36 linear matrices of the six blocks (what
both sides quantize); file sizes are the GGUFs'. Wall time and peak RSS
of calibrate and quantize by /usr/bin/time -v.
"""
import os, pathlib, re, subprocess, sys
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import benchlib
from checklib import llama_embeddings


def timed(argv):
    """benchlib.timed without the output: (wall seconds, peak RSS MiB)."""
    wall, rss, _ = benchlib.timed(argv)
    return wall, rss


def pooled_torch(folder, ids):
    import torch
    from transformers import AutoModel
    model = AutoModel.from_pretrained(folder, dtype=torch.float32).eval()
    out = []
    with torch.no_grad():
        for s in ids:
            h = model(input_ids=torch.tensor([s])).last_hidden_state[0].numpy()
            out.append(h.mean(0))
    return np.array(out)


def pooled_llama(path, ids):
    return np.array([e.mean(0) for e in llama_embeddings(path, ids, n_ctx=512)])


def cosines(a, b):
    c = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(c.mean()), float(c.min())


def matrix_bpw(path):
    """Bits per weight over the blocks' 2-D tensors of a GGUF, and their count."""
    import gguf
    r = gguf.GGUFReader(path)
    bits = n = count = 0
    for t in r.tensors:
        if t.name.startswith("blk.") and len([d for d in t.shape if d > 1]) == 2:
            bits += 8 * int(t.n_bytes)
            n += int(np.prod(t.shape))
            count += 1
    return bits / n, count


def main():
    ingot, out = sys.argv[1], pathlib.Path(sys.argv[2])
    benchlib.require_model("calibration")
    tree, quantize = os.environ.get("LLAMA_CPP_TREE"), os.environ.get("LLAMA_QUANTIZE")
    work = out / "calibration"
    work.mkdir(parents=True, exist_ok=True)
    corpus = os.path.join(os.path.dirname(ROOT), "shared", "corpus", "summaries.txt")
    lines = [l for l in open(corpus, encoding="utf-8").read().split("\n") if l.strip()]
    cal, held = lines[:400], lines[400:]
    held = [l for l in held if l not in set(cal)]
    (work / "cal.txt").write_text("\n".join(cal) + "\n", encoding="utf-8")
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(benchlib.model, "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    ids = [tok.encode(l).ids[:512] for l in held]
    ref = pooled_torch(benchlib.model, ids)

    base = work / "mini.ingot"
    benchlib.run(ingot, "convert", benchlib.model, "-o", base, "--force")
    stats = work / "stats.ingot"
    t_cal = timed([ingot, "calibrate", base, "--file", work / "cal.txt", "--hessian", "-o", stats, "--force"])
    candidates = [
        ("IQ4_NL, no calibration", ["--scheme", "iq4_nl"]),
        ("IQ4_NL, imatrix", ["--scheme", "iq4_nl", "--calibration", stats]),
        ("Q4_0, GPTQ", ["--scheme", "q4_0", "--calibration", stats, "--method", "gptq"]),
        ("IQ4_NL, GPTQ", ["--scheme", "iq4_nl", "--calibration", stats, "--method", "gptq"]),
        ("--target-bpw 4.5, GPTQ", ["--target-bpw", "4.5", "--calibration", stats, "--method", "gptq"]),
        ("--target-bpw 4.5, GPTQ, embeddings IQ4_NL", ["--target-bpw", "4.5", "--calibration", stats, "--method", "gptq", "--embeddings", "quantize"]),
    ]
    rows = []
    for label, args in candidates:
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        q = work / f"{slug}.ingot"
        t_q = timed([ingot, "quantize", base, *args, "-o", q, "--force", "--report", work / f"{slug}.json"])
        folder, gg = work / f"{slug}-st", work / f"{slug}.gguf"
        benchlib.run(ingot, "export", q, "-o", str(folder) + "/", "--force", "--dtype", "f32")
        benchlib.run(ingot, "export", q, "--to", "gguf", "-o", gg, "--force")
        bpw, count = matrix_bpw(gg)
        rows.append((f"ingot {label}", bpw, count, os.path.getsize(gg), cosines(ref, pooled_torch(folder, ids)),
                     cosines(ref, pooled_llama(str(gg), ids)), t_q))
    if tree and quantize:
        f32 = work / "llama-f32.gguf"
        if not f32.exists():
            # The PyPI package leaves out 1_Pooling/config.json, which its
            # modules.json names and the converter reads: the model's own
            # (mean pooling), beside links to the rest.
            hf = work / "minilm-hf"
            (hf / "1_Pooling").mkdir(parents=True, exist_ok=True)
            for f in os.listdir(benchlib.model):
                if not (hf / f).exists():
                    os.symlink(os.path.join(benchlib.model, f), hf / f)
            (hf / "1_Pooling" / "config.json").write_text(
                '{"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true, '
                '"pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}\n')
            subprocess.run([sys.executable, os.path.join(tree, "convert_hf_to_gguf.py"), hf, "--outtype", "f32", "--outfile", f32],
                           check=True, capture_output=True)
        km = work / "llama-q4_k_m.gguf"
        t_k = timed([quantize, f32, km, "Q4_K_M", "2"])
        bpw, count = matrix_bpw(str(km))
        rows.append(("llama.cpp Q4_K_M (llama-quantize)", bpw, count, os.path.getsize(km), None, cosines(ref, pooled_llama(str(km), ids)), t_k))
        rows.append(("llama.cpp F32 (convert_hf_to_gguf.py)", 32.0, count, os.path.getsize(f32), None, cosines(ref, pooled_llama(str(f32), ids)), None))
    else:
        print("(llama.cpp side skipped: set LLAMA_CPP_TREE and LLAMA_QUANTIZE)\n")

    print("### Calibrated int4 on all-MiniLM-L6-v2 (issue 14)\n")
    print(f"Calibration: the first {len(cal)} lines of summaries.txt; evaluation: the other {len(held)}, none in the calibration set. "
          f"Pooled cosine against transformers f32. `ingot calibrate --hessian`: {t_cal[0]:.1f} s, peak RSS {t_cal[1]:.0f} MiB.\n")
    print("| model | bpw (linear matrices) | GGUF MiB | cosine mean / worst, transformers | cosine mean / worst, llama.cpp | quantize s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, bpw, count, size, tc, lc, t in rows:
        tcs = f"{tc[0]:.4f} / {tc[1]:.4f}" if tc else "–"
        ts = f"{t[0]:.1f} | {t[1]:.0f}" if t else "– | –"
        print(f"| {name} | {bpw:.2f} ({count} matrices) | {size / 2**20:.1f} | {tcs} | {lc[0]:.4f} / {lc[1]:.4f} | {ts} |")


if __name__ == "__main__":
    main()
