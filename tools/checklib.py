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
