#!/usr/bin/env python3
"""Forward-pass benchmark (issue 6), called by tools/bench.

usage: bench_forward.py INGOT_BINARY OUT_DIR

MiniLM (tools/fetch-models) and a synthetic Llama-shaped model of about 100M
parameters (hidden 768, 12 layers, 12 heads / 4 kv heads, FFN 2048, vocab
8000, random weights), 8 sequences × 128 tokens, best of three runs, at 1 thread and at all
cores (OPENBLAS_NUM_THREADS), next to the sgemm GFLOP/s measured in the same
process; peak RSS from /usr/bin/time -v against the model's f32 size.
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

print("### Forward pass, 8 sequences × 128 tokens")
print()
print("| model | f32 MB | threads | tokens/s | forward GFLOP/s | sgemm GFLOP/s | fraction | peak RSS MB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for label, folder in models:
    path = os.path.join(out, os.path.basename(folder) + ".ingot")
    subprocess.run([ingot, "convert", folder, "-o", path, "--force"], check=True, capture_output=True)
    size = os.path.getsize(os.path.join(folder, "model.safetensors")) / 1e6
    for threads in (1, cores):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
        # Best of three processes (by tokens/s); each reports the sgemm
        # rate it measured itself, so the fraction pairs numbers of one run.
        runs = []
        for _ in range(3):
            r = subprocess.run(["/usr/bin/time", "-v", os.path.join(os.path.dirname(ingot), "ingot-bench"), "forward", path, "--sequences", "8", "--tokens", "128"],
                               capture_output=True, text=True, env=env, check=True)
            f = dict(kv.split("=") for kv in r.stdout.split()[1:])
            rss = int([l for l in r.stderr.splitlines() if "Maximum resident" in l][0].split(": ")[1]) / 1024
            runs.append((float(f["tokens_per_s"]), f, rss))
        _, f, rss = max(runs, key=lambda run: run[0])
        g, s = float(f["gflops"]), float(f["sgemm_gflops"])
        print(f"| {label} | {size:.0f} | {threads} | {float(f['tokens_per_s']):.0f} | {g:.1f} | {s:.1f} | {100 * g / s:.0f} % | {rss:.0f} |")
