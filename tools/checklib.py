"""What the reference-tool checks share (tools/mlx_check.py,
tools/gguf_check.py): a counted check that stops at the first failure,
running ingot, and the KL divergence between two sets of logits."""
import subprocess
import sys

import numpy as np

name = "check"
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        print(f"{name}: FAIL: {what}", file=sys.stderr)
        sys.exit(1)


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True)


def ingot(binary, *args):
    r = run(binary, *args)
    check(r.returncode == 0, f"ingot {' '.join(map(str, args))}: {r.stderr.strip()}")
    return r.stdout


def log_softmax(x):
    x = x.astype(np.float64)
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def mean_kld(ref, got):
    """Mean over positions of KL(softmax(ref) ‖ softmax(got))."""
    p, q = log_softmax(ref), log_softmax(got)
    return float((np.exp(p) * (p - q)).sum(-1).mean())


def llama_logits(path, seqs, n_ctx=256):
    """llama.cpp's logits (llama-cpp-python) for each token sequence."""
    import llama_cpp
    llm = llama_cpp.Llama(path, n_ctx=n_ctx, n_batch=n_ctx, logits_all=True, verbose=False, n_threads=2)
    out = []
    for s in seqs:
        llm.reset()
        llm.eval([int(t) for t in s])
        out.append(np.array(llm.scores[:len(s)], dtype=np.float32))
    del llm
    return out


def llama_embeddings(path, seqs, n_ctx=256):
    """llama.cpp's last-layer token embeddings (no pooling) for each sequence:
    Llama.embed's steps, on token ids instead of text."""
    import llama_cpp
    llm = llama_cpp.Llama(path, embedding=True, pooling_type=0, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, verbose=False, n_threads=2)
    out = []
    for s in seqs:
        llm._batch.reset()
        llm._batch.add_sequence([int(t) for t in s], 0, True)
        llm._ctx.kv_cache_clear()
        llm._ctx.decode(llm._batch)
        ptr = llama_cpp.llama_get_embeddings(llm._ctx.ctx)
        n = llm.n_embd()
        out.append(np.array(ptr[:len(s) * n], dtype=np.float32).reshape(len(s), n))
    del llm
    return out
