"""What the benchmark scripts share: the MiniLM model, and running ingot
and ingot-bench with a one-line error on failure."""
import os, subprocess, sys

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
