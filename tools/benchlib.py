"""What the benchmark scripts share: the MiniLM model, and running ingot
and ingot-bench with a one-line error on failure."""
import json, os, shutil, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
model = os.path.join(root, ".models", "all-MiniLM-L6-v2")


def require_model(what):
    if not os.path.exists(os.path.join(model, "model.safetensors")):
        print(f"{what} bench skipped: run tools/fetch-models")
        sys.exit(0)


def _call(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{os.path.basename(argv[0])} {' '.join(argv[1:])}: {r.stdout.strip()} {r.stderr.strip()}")
    return r.stdout


def run(ingot, *args):
    """`ingot ARGS`: its stdout."""
    return _call([ingot, *args])


def bench(ingot, *args):
    """`ingot-bench ARGS` (built next to ingot): its one result line."""
    return _call([os.path.join(os.path.dirname(ingot), "ingot-bench"), *args]).strip()


def synthetic_llama(folder, layers=8, hidden=128, ffn=256, vocab=384, heads=4, kv=2, hd=32):
    """A random Llama with dims that divide 64, for the recipe's layer pattern
    (and, larger, for tools/bench_mlx.py)."""
    import numpy as np
    from safetensors.numpy import save_file
    rng = np.random.default_rng(7)
    os.makedirs(folder, exist_ok=True)
    w = {"model.embed_tokens.weight": rng.standard_normal((vocab, hidden), dtype=np.float32),
         "lm_head.weight": rng.standard_normal((vocab, hidden), dtype=np.float32),
         "model.norm.weight": 1 + 0.1 * rng.standard_normal(hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + 0.1 * rng.standard_normal(hidden)
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * rng.standard_normal(hidden)
        for name, shape in (("self_attn.q_proj", (heads * hd, hidden)), ("self_attn.k_proj", (kv * hd, hidden)),
                            ("self_attn.v_proj", (kv * hd, hidden)), ("self_attn.o_proj", (hidden, heads * hd)),
                            ("mlp.gate_proj", (ffn, hidden)), ("mlp.up_proj", (ffn, hidden)), ("mlp.down_proj", (hidden, ffn))):
            w[p + name + ".weight"] = rng.standard_normal(shape, dtype=np.float32)
    for k in w:
        w[k] = w[k].astype(np.float32) if "norm" in k else (w[k] * np.float32(0.08)).astype(np.float32)
    save_file(w, os.path.join(folder, "model.safetensors"))
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden, "intermediate_size": ffn,
              "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv, "head_dim": hd,
              "vocab_size": vocab, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 256,
              "tie_word_embeddings": False, "hidden_act": "silu", "torch_dtype": "float32", "bos_token_id": 0, "eos_token_id": 1}
    json.dump(config, open(os.path.join(folder, "config.json"), "w"))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(root, "Tests", "IngotTests", "Fixtures", "arch", "llama3", name), folder)


def timed(argv):
    """Runs argv under /usr/bin/time -v: (wall seconds, peak RSS MiB, output); exits on failure."""
    r = subprocess.run(["/usr/bin/time", "-v", *map(str, argv)], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{' '.join(map(str, argv))}: {r.stderr.strip()[-800:]}")
    wall = rss = 0.0
    for line in r.stderr.splitlines():
        if "Elapsed (wall clock)" in line:
            wall = 0.0
            for part in line.split(": ")[-1].split(":"):
                wall = wall * 60 + float(part)
        if "Maximum resident set size" in line:
            rss = int(line.split(": ")[-1]) / 1024
    return wall, rss, r.stdout + r.stderr
