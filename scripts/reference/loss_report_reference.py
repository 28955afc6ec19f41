#!/usr/bin/python3
"""Golden eval losses per capability and per source (trainer/.../eval/LossReport), computed directly.

Takes the tiny reference checkpoint gqa_f32 (written by llama_reference.py) and a few hand-built samples with loss
masks and capability labels (shard format 2, docs/design.md section 3: label = 1 + index in CAPABILITIES of the
assistant turn holding the token, 0 elsewhere), and computes in float64 with llama_reference.forward:
  - each sample is cut into pieces of at most SEQ_LEN tokens (the packer's contract, trainer/.../data/Packer: a
    longer sample becomes consecutive pieces, each its own sequence; a piece with no loss target is dropped);
  - each piece is run alone (positions from 0); the NLL of target t is -log softmax(logits[t])[ids[t + 1]] for every
    t but the piece's last, and that target's mask and label are those of token t + 1;
  - overall = mean NLL over targets with mask 1; by_capability[c] = mean NLL over targets labelled c, mask or not;
    by_source[s] = mean NLL over the labelled (non-zero) targets of source s's samples.
A capability or source without any target is left out. Nothing here was derived from the Java code.

Usage: scripts/reference/loss_report_reference.py  (writes trainer/src/test/resources/reference/loss_report.json)
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_reference  # noqa: E402
import safetensors_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE = os.path.join(ROOT, "trainer", "src", "test", "resources", "reference")
MODEL = "gqa_f32"
OUT = os.path.join(REFERENCE, "loss_report.json")
CAPABILITIES = ["reasoning", "retrieval", "understanding", "instruction_following", "chat"]
SEQ_LEN = 24
BOS = 1

# A sample is BOS then turns: (kind, length, capability or None, loss). A "user" turn is never labelled; an
# "assistant" turn is labelled with its capability whether or not it carries loss (loss False: a turn the capability
# balancer masked). instruction_following appears nowhere, so it must be absent from the report.
SAMPLES = [
    ("a1", "agent", [("user", 4, None, False), ("assistant", 5, "reasoning", True),
                     ("user", 2, None, False), ("assistant", 3, "retrieval", False),
                     ("user", 2, None, False), ("assistant", 4, "understanding", True)]),
    ("c1", "chat", [("user", 6, None, False), ("assistant", 7, "chat", True)]),
    ("a2", "agent", [("user", 3, None, False), ("assistant", 2, "retrieval", True),
                     ("user", 3, None, False), ("assistant", 6, "reasoning", True)]),
    # 1 + 30 + 11 = 42 tokens: split into pieces of 24 and 18 at SEQ_LEN 24.
    ("t1", "tools", [("user", 10, None, False), ("assistant", 20, "understanding", True),
                     ("user", 4, None, False), ("assistant", 7, "reasoning", False)]),
    # 1 + 8 + 12 + 2 + 8 + 2 = 33 tokens: the second piece (9 tokens) has no loss target and is dropped with its
    # labels, though its first token, a target of the first piece, still counts.
    ("t2", "tools", [("user", 8, None, False), ("assistant", 12, "chat", True),
                     ("user", 2, None, False), ("assistant", 8, "retrieval", False), ("user", 2, None, False)]),
    ("c2", "chat", [("user", 2, None, False), ("assistant", 9, "chat", True)]),
]


def build(samples, vocab, seed):
    g = torch.Generator().manual_seed(seed)
    out = []
    for sid, source, turns in samples:
        ids, mask, labels = [BOS], [0], [0]
        for kind, length, capability, loss in turns:
            ids += torch.randint(3, vocab, (length,), generator=g).tolist()
            mask += [1 if loss else 0] * length
            label = CAPABILITIES.index(capability) + 1 if kind == "assistant" else 0
            labels += [label] * length
        out.append({"id": sid, "source": source, "input_ids": ids, "loss_mask": mask, "capability_ids": labels})
    return out


def pieces(sample):
    """(start, length) of each piece the packer trains, dropping pieces without a loss target."""
    n = len(sample["input_ids"])
    kept = []
    for start in range(0, n, SEQ_LEN):
        length = min(SEQ_LEN, n - start)
        if any(sample["loss_mask"][start + j] for j in range(1, length)):
            kept.append((start, length))
    return kept


def main():
    model_dir = os.path.join(REFERENCE, MODEL, "model")
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    weights, _ = safetensors_io.load(os.path.join(model_dir, "model.safetensors"))
    p = {n: w.to(torch.float64) for n, w in weights.items()}
    head = llama_reference.head_of(c, p)
    samples = build(SAMPLES, c["vocab_size"], 5)

    nll_sum = {"overall": 0.0}
    count = {"overall": 0}
    by_cap, by_source = {}, {}
    torch.set_num_threads(1)
    with torch.no_grad():
        for s in samples:
            for start, length in pieces(s):
                ids = torch.tensor([s["input_ids"][start:start + length]])
                positions = torch.arange(length).unsqueeze(0)
                segments = torch.ones(1, length, dtype=torch.int32)
                logits = llama_reference.forward(c, p, ids, positions, segments)[0] @ head.T
                log_probs = torch.log_softmax(logits, dim=-1)
                for t in range(length - 1):
                    target = start + t + 1
                    nll = -float(log_probs[t, s["input_ids"][target]])
                    if s["loss_mask"][target]:
                        nll_sum["overall"] += nll
                        count["overall"] += 1
                    label = s["capability_ids"][target]
                    if label:
                        cap = CAPABILITIES[label - 1]
                        by_cap.setdefault(cap, [0.0, 0])
                        by_cap[cap][0] += nll
                        by_cap[cap][1] += 1
                        by_source.setdefault(s["source"], [0.0, 0])
                        by_source[s["source"]][0] += nll
                        by_source[s["source"]][1] += 1
    golden = {
        "generator": "scripts/reference/loss_report_reference.py",
        "model": MODEL, "seq_len": SEQ_LEN, "samples": samples,
        "overall": nll_sum["overall"] / count["overall"], "loss_tokens": count["overall"],
        "by_capability": {k: v[0] / v[1] for k, v in by_cap.items()},
        "tokens_by_capability": {k: v[1] for k, v in by_cap.items()},
        "by_source": {k: v[0] / v[1] for k, v in by_source.items()},
        "tokens_by_source": {k: v[1] for k, v in by_source.items()},
    }
    assert "instruction_following" not in golden["by_capability"]
    with open(OUT, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print("wrote", OUT, "overall", round(golden["overall"], 6), "over", count["overall"], "loss tokens;",
          {k: round(v, 6) for k, v in golden["by_capability"].items()}, golden["tokens_by_capability"])


if __name__ == "__main__":
    main()
