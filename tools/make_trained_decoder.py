#!/usr/bin/env python3
"""A small Llama trained on the corpus, for the calibration bench (issue 14).

usage: python3 tools/make_trained_decoder.py OUT_FOLDER [STEPS]

No real decoder checkpoint is reachable offline, and random weights are no
test of calibration (Gaussian weights, no outlier channels, activations with
no structure to exploit). So: a Llama (4 layers, hidden 256, FFN 768, 4
heads of 64, 2 KV heads, the llama3 fixture's 384-token byte-level BPE)
trained from a fixed seed with transformers + torch on gpl-3.txt and
summaries.txt, batches of 8 windows of 128 tokens, AdamW; a few minutes on 2 cores. Every
row is a whole number of 256-value k-quant blocks. Written as a Hugging
Face folder (f32 safetensors, config, tokenizer).
"""
import json, os, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import benchlib


def main():
    folder = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    import numpy as np
    import torch
    from tokenizers import Tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    torch.set_num_threads(2)
    benchlib.synthetic_llama(folder, layers=4, hidden=256, ffn=768, vocab=384, heads=4, kv=2, hd=64)
    config = json.load(open(os.path.join(folder, "config.json")))
    config["max_position_embeddings"] = 512
    json.dump(config, open(os.path.join(folder, "config.json"), "w"))
    corpus = os.path.join(os.path.dirname(ROOT), "shared", "corpus")
    text = open(os.path.join(corpus, "gpl-3.txt"), encoding="utf-8").read() + "\n" + open(os.path.join(corpus, "summaries.txt"), encoding="utf-8").read()
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    ids = np.array(tok.encode(text).ids, dtype=np.int64)
    model = LlamaForCausalLM(LlamaConfig(**{k: v for k, v in config.items() if k not in ("architectures", "torch_dtype")}))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    rng = np.random.default_rng(0)
    window, batch = 128, 8
    for step in range(steps):
        starts = rng.integers(0, len(ids) - window - 1, size=batch)
        x = torch.from_numpy(np.stack([ids[s:s + window] for s in starts]))
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step}: loss {loss.item():.3f}", file=sys.stderr)
    model.save_pretrained(folder, safe_serialization=True)
    # save_pretrained rewrites config.json; the tokenizer files stay.
    print(folder)


if __name__ == "__main__":
    main()
