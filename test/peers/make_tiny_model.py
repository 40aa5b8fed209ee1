"""Writes a tiny Qwen2-architecture chat model into a real Hugging Face cache layout, offline.

Run with the mlx venv's python (it has numpy, safetensors, tokenizers, transformers):

    python make_tiny_model.py --hf-home DIR --repo-id org/name --seed 1 --answer "editor pong"

Layout written (what huggingface_hub itself writes, so HF_HUB_OFFLINE=1 finds it):

    DIR/hub/models--org--name/blobs/<sha256>
    DIR/hub/models--org--name/refs/main                      (the revision, no newline)
    DIR/hub/models--org--name/snapshots/<rev>/<file> -> ../../blobs/<sha256>

The model: 2 decoder layers, hidden 64 (--layers/--hidden/--heads/--kv-heads/--intermediate make
a bigger one, e.g. for a benchmark whose prefill must take seconds on CPU; --dtype float16 stores it
in half precision like real MLX models), a byte-level BPE vocabulary of ~320 tokens made like Qwen2's
(same pre-tokenizer split, ByteLevel decoder, <|im_start|>/<|im_end|> specials). Every layer's
weights are random (seeded); only the embedding and the output head are shaped so that greedy decoding
is a deterministic chain: after the chat template's `<|im_start|>assistant\n` the model says the words
of --answer and then `<|im_end|>` (the eos token); after any other token it stops at once. So a reply is fast on CPU and tells which model
answered. Prints a JSON summary on stdout.
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
from safetensors.numpy import save_file
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
INTERMEDIATE = 128
CHAIN_DIMS = 8  # hidden axes 0..7 belong to the tokens of the answer chain
DEFAULT_DIM = 8  # every other token sits on this axis, which the head maps to eos
DTYPE = np.float32

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Qwen2's own pre-tokenizer split, so transformers' Qwen2Tokenizer and tokenizer.json agree.
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Whole-word tokens (byte-level spelling, "Ġ" = leading space), on top of the 256 byte tokens.
BASE_WORDS = ["system", "user", "assistant", "Ġthe", "Ġto", "Ġand", "Ġfile", "Ġcode", "Ġreply", "Ġword", "Ġping"]
NEWLINE = "Ċ"  # byte-level "\n": the last prompt token after "<|im_start|>assistant\n"

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['content'] is string -%}{%- set content = message['content'] -%}"
    "{%- elif message['content'] -%}{%- set content = message['content'] | map(attribute='text') | select('string') | join('\\n') -%}"
    "{%- else -%}{%- set content = '' -%}{%- endif -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + content + '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)


def answer_tokens(answer):
    return [w if i == 0 else "Ġ" + w for i, w in enumerate(answer)]


def build_vocab(words):
    """Byte-level BPE: 256 byte symbols, left-to-right merges spelling each word, then the specials."""
    vocab = {}
    for ch in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[ch] = len(vocab)
    merges = []
    for word in words:
        cur = word[0]
        for ch in word[1:]:
            nxt = cur + ch
            if nxt not in vocab:
                vocab[nxt] = len(vocab)
                merges.append((cur, ch))
            cur = nxt
    for t in SPECIAL:
        vocab[t] = len(vocab)
    return vocab, merges


def build_tokenizer(vocab, merges):
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.add_special_tokens(SPECIAL)
    return tok


def build_weights(vocab, vocab_size, answer, seed):
    rng = np.random.default_rng(seed)
    eos = vocab["<|im_end|>"]
    chain = [NEWLINE] + answer_tokens(answer)
    if len(chain) > CHAIN_DIMS:
        raise SystemExit(f"answer too long: at most {CHAIN_DIMS - 1} words")
    if len(set(chain)) != len(chain):
        raise SystemExit("answer words must be distinct")
    axis = {vocab[t]: i for i, t in enumerate(chain)}
    successor = {vocab[a]: vocab[b] for a, b in zip(chain, chain[1:])}
    successor[vocab[chain[-1]]] = eos

    def rand(*shape, std=0.02):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    w = {}
    # Chain tokens: their own axis; all others: the default axis plus random noise on the free axes.
    # Either part dominates the (random, small) contributions of the layers.
    emb = np.zeros((vocab_size, HIDDEN), np.float32)
    emb[:, DEFAULT_DIM + 1:] = rand(vocab_size, HIDDEN - DEFAULT_DIM - 1, std=0.05)
    for t in range(vocab_size):
        if t in axis:
            emb[t, :] = 0.0
            emb[t, axis[t]] = 4.0
        else:
            emb[t, DEFAULT_DIM] = 4.0
    w["model.embed_tokens.weight"] = emb
    head_dim = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        w[p + "self_attn.q_proj.weight"] = rand(HEADS * head_dim, HIDDEN)
        w[p + "self_attn.q_proj.bias"] = rand(HEADS * head_dim)
        w[p + "self_attn.k_proj.weight"] = rand(KV_HEADS * head_dim, HIDDEN)
        w[p + "self_attn.k_proj.bias"] = rand(KV_HEADS * head_dim)
        w[p + "self_attn.v_proj.weight"] = rand(KV_HEADS * head_dim, HIDDEN)
        w[p + "self_attn.v_proj.bias"] = rand(KV_HEADS * head_dim)
        w[p + "self_attn.o_proj.weight"] = rand(HIDDEN, HEADS * head_dim)
        w[p + "mlp.gate_proj.weight"] = rand(INTERMEDIATE, HIDDEN)
        w[p + "mlp.up_proj.weight"] = rand(INTERMEDIATE, HIDDEN)
        w[p + "mlp.down_proj.weight"] = rand(HIDDEN, INTERMEDIATE)
        w[p + "input_layernorm.weight"] = np.ones(HIDDEN, np.float32)
        w[p + "post_attention_layernorm.weight"] = np.ones(HIDDEN, np.float32)
    w["model.norm.weight"] = np.ones(HIDDEN, np.float32)
    head = rand(vocab_size, HIDDEN, std=0.01)
    for t, nxt in successor.items():
        head[nxt, axis[t]] += 3.0
    head[eos, DEFAULT_DIM] += 3.0  # any other last token: stop at once
    w["lm_head.weight"] = head.astype(np.float32)
    return {k: v.astype(DTYPE) for k, v in w.items()}, eos


def write_snapshot(files, hf_home, repo_id, seed):
    org, name = repo_id.split("/")
    repo_dir = os.path.join(hf_home, "hub", f"models--{org}--{name}")
    blobs = os.path.join(repo_dir, "blobs")
    os.makedirs(blobs, exist_ok=True)
    digests = {}
    for fname, data in sorted(files.items()):
        digest = hashlib.sha256(data).hexdigest()
        digests[fname] = digest
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
    rev = hashlib.sha1(json.dumps([repo_id, seed, digests], sort_keys=True).encode()).hexdigest()
    snap = os.path.join(repo_dir, "snapshots", rev)
    os.makedirs(snap, exist_ok=True)
    for fname, digest in digests.items():
        link = os.path.join(snap, fname)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join("..", "..", "blobs", digest), link)
    os.makedirs(os.path.join(repo_dir, "refs"), exist_ok=True)
    with open(os.path.join(repo_dir, "refs", "main"), "w") as f:
        f.write(rev)
    return repo_dir, snap, rev


def main():
    global HIDDEN, LAYERS, HEADS, KV_HEADS, INTERMEDIATE, DTYPE
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf-home", required=True)
    ap.add_argument("--repo-id", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--answer", default="pong", help="space-separated words the model replies with")
    ap.add_argument("--hidden", type=int, default=HIDDEN)
    ap.add_argument("--layers", type=int, default=LAYERS)
    ap.add_argument("--heads", type=int, default=HEADS)
    ap.add_argument("--kv-heads", type=int, default=KV_HEADS)
    ap.add_argument("--intermediate", type=int, default=INTERMEDIATE)
    ap.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    args = ap.parse_args()
    HIDDEN, LAYERS, HEADS, KV_HEADS, INTERMEDIATE = args.hidden, args.layers, args.heads, args.kv_heads, args.intermediate
    DTYPE = np.float16 if args.dtype == "float16" else np.float32
    if HIDDEN % HEADS or HEADS % KV_HEADS or HIDDEN <= DEFAULT_DIM + 1:
        raise SystemExit("--hidden must be a multiple of --heads (and > 9), --heads a multiple of --kv-heads")
    if args.repo_id.count("/") != 1:
        raise SystemExit("--repo-id must be org/name")

    answer = args.answer.split()
    vocab, merges = build_vocab(BASE_WORDS + [t for t in answer_tokens(answer) if t not in BASE_WORDS])
    vocab_size = (len(vocab) + 63) // 64 * 64
    weights, eos = build_weights(vocab, vocab_size, answer, args.seed)

    tmp = os.path.join(args.hf_home, ".tiny-build")
    os.makedirs(tmp, exist_ok=True)
    st_path = os.path.join(tmp, "model.safetensors")
    save_file(weights, st_path, metadata={"format": "np"})
    tok_path = os.path.join(tmp, "tokenizer.json")
    build_tokenizer(vocab, merges).save(tok_path)

    total_size = sum(a.nbytes for a in weights.values())
    config = {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-6,
        "vocab_size": vocab_size,
        "max_position_embeddings": 32768,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "bos_token_id": vocab["<|endoftext|>"],
        "eos_token_id": eos,
        "torch_dtype": "float16" if DTYPE == np.float16 else "float32",
    }
    added = {
        str(vocab[t]): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
        for t in SPECIAL
    }
    tokenizer_config = {
        "tokenizer_class": "Qwen2Tokenizer",
        "added_tokens_decoder": added,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "errors": "replace",
        "split_special_tokens": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 32768,
        "chat_template": CHAT_TEMPLATE,
    }
    generation_config = {"eos_token_id": eos, "bos_token_id": vocab["<|endoftext|>"], "do_sample": False}
    index = {"metadata": {"total_size": total_size}, "weight_map": {k: "model.safetensors" for k in sorted(weights)}}
    special_map = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}

    def js(o):
        return (json.dumps(o, indent=2, sort_keys=True) + "\n").encode()

    files = {
        "config.json": js(config),
        "generation_config.json": js(generation_config),
        "model.safetensors.index.json": js(index),
        "tokenizer_config.json": js(tokenizer_config),
        "special_tokens_map.json": js(special_map),
        "model.safetensors": open(st_path, "rb").read(),
        "tokenizer.json": open(tok_path, "rb").read(),
    }
    repo_dir, snap, rev = write_snapshot(files, args.hf_home, args.repo_id, args.seed)
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    os.rmdir(tmp)
    json.dump({"repoId": args.repo_id, "repoDir": repo_dir, "snapshot": snap, "revision": rev,
               "answer": " ".join(answer), "files": sorted(files)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
