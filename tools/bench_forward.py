#!/usr/bin/env python3
"""Forward-pass benchmark (issues 6 and 11), called by tools/bench.

usage: bench_forward.py INGOT_BINARY OUT_DIR

MiniLM (tools/fetch-models) and a synthetic Llama-shaped model of about 100M
parameters (hidden 768, 12 layers, 12 heads / 4 kv heads, FFN 2048, vocab
8000, random weights), 8 sequences × 128 tokens and one of 512, best of three
runs, at 1 and 2 threads (OPENBLAS_NUM_THREADS), side by side with PyTorch
(transformers, torch.set_num_threads) on the same model and shape when torch
is installed, next to the sgemm GFLOP/s measured in the same process; peak
RSS from /usr/bin/time -v against the model's f32 size.
"""
import json, os, struct, subprocess, sys
import numpy as np

ingot, out = sys.argv[1], sys.argv[2]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cores = os.cpu_count() or 1
models = []
minilm = os.path.join(root, ".models", "all-MiniLM-L6-v2")
if os.path.exists(os.path.join(minilm, "model.safetensors")):
    models.append(("all-MiniLM-L6-v2", minilm))

llama = os.path.join(out, "synthetic-llama-100m")
if not os.path.exists(os.path.join(llama, "model.safetensors")):
    os.makedirs(llama, exist_ok=True)
    H, L, I, V, NH, NKV = 768, 12, 2048, 8000, 12, 4
    cfg = {"model_type": "llama", "hidden_size": H, "num_hidden_layers": L, "intermediate_size": I, "vocab_size": V,
           "num_attention_heads": NH, "num_key_value_heads": NKV, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
           "hidden_act": "silu", "tie_word_embeddings": False, "max_position_embeddings": 2048}
    json.dump(cfg, open(os.path.join(llama, "config.json"), "w"))
    rng = np.random.default_rng(3)
    shapes = [("model.embed_tokens.weight", (V, H)), ("model.norm.weight", (H,)), ("lm_head.weight", (V, H))]
    hd = H // NH
    for l in range(L):
        p = f"model.layers.{l}."
        shapes += [(p + "input_layernorm.weight", (H,)), (p + "post_attention_layernorm.weight", (H,)),
                   (p + "self_attn.q_proj.weight", (H, H)), (p + "self_attn.k_proj.weight", (NKV * hd, H)),
                   (p + "self_attn.v_proj.weight", (NKV * hd, H)), (p + "self_attn.o_proj.weight", (H, H)),
                   (p + "mlp.gate_proj.weight", (I, H)), (p + "mlp.up_proj.weight", (I, H)), (p + "mlp.down_proj.weight", (H, I))]
    header, at = {}, 0
    for name, shape in shapes:
        n = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [at, at + n]}
        at += n
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(llama, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for name, shape in shapes:
            a = np.ones(shape, np.float32) if len(shape) == 1 else (rng.standard_normal(shape, dtype=np.float32) * 0.02)
            f.write(a.tobytes())
models.append(("synthetic Llama ~100M", llama))

TORCH = r"""
import sys, time, torch, numpy as np
folder, threads, seqs, toks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
import transformers as T
cfg = T.AutoConfig.from_pretrained(folder)
auto = T.AutoModel if cfg.model_type == "bert" else T.AutoModelForCausalLM
model = auto.from_pretrained(folder, dtype=torch.float32).eval()
ids = torch.tensor(np.random.default_rng(7).integers(0, cfg.vocab_size, (seqs, toks)))
best = float("inf")
with torch.no_grad():
    model(ids)  # warm-up
    for _ in range(3):
        t = time.perf_counter(); model(ids); best = min(best, time.perf_counter() - t)
print(seqs * toks / best)
"""


def torch_rate(folder, threads, seqs, toks):
    """PyTorch's tokens/s on the same model and shape (transformers, f32,
    weights already in memory), or None without torch."""
    try:
        r = subprocess.run([sys.executable, "-c", TORCH, folder, str(threads), str(seqs), str(toks)],
                           capture_output=True, text=True, check=True, env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
        return float(r.stdout.split()[-1])
    except (subprocess.CalledProcessError, FileNotFoundError, ValueError):
        return None


print("### Forward pass against PyTorch, same model, shape and thread count")
print()
print("ingot's time includes reading each weight from the container and checking its digest")
print("(page cache warm); PyTorch's has the weights in memory already.")
print()
print("| model | f32 MB | shape | threads | ingot tokens/s | `--no-verify` | PyTorch tokens/s | ratio | forward GFLOP/s | sgemm GFLOP/s | peak RSS MB |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for label, folder in models:
    path = os.path.join(out, os.path.basename(folder) + ".ingot")
    subprocess.run([ingot, "convert", folder, "-o", path, "--force"], check=True, capture_output=True)
    size = os.path.getsize(os.path.join(folder, "model.safetensors")) / 1e6
    for seqs, toks in ((8, 128), (1, 512)):
        for threads in sorted({1, min(2, cores), cores}):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
            def best(extra):
                # Best of three processes (by tokens/s); each reports the sgemm
                # rate it measured itself, so the fraction pairs numbers of one run.
                runs = []
                for _ in range(3):
                    r = subprocess.run(["/usr/bin/time", "-v", os.path.join(os.path.dirname(ingot), "ingot-bench"), "forward", path,
                                        "--sequences", str(seqs), "--tokens", str(toks)] + extra,
                                       capture_output=True, text=True, env=env, check=True)
                    f = dict(kv.split("=") for kv in r.stdout.split()[1:])
                    rss = int([l for l in r.stderr.splitlines() if "Maximum resident" in l][0].split(": ")[1]) / 1024
                    runs.append((float(f["tokens_per_s"]), f, rss))
                return max(runs, key=lambda run: run[0])
            rate, f, rss = best([])
            fast, _, _ = best(["--no-verify"])
            ref = torch_rate(folder, threads, seqs, toks)
            g, sg = float(f["gflops"]), float(f["sgemm_gflops"])
            ratio = f"{rate / ref:.2f}×" if ref else "n/a"
            refs = f"{ref:.0f}" if ref else "n/a (no torch)"
            print(f"| {label} | {size:.0f} | {seqs} × {toks} | {threads} | {rate:.0f} | {fast:.0f} | {refs} | {ratio} | {g:.1f} | {sg:.1f} | {rss:.0f} |")
