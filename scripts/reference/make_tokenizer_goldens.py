#!/usr/bin/python3
"""Golden token ids, loss masks and capability labels for the data stage, from SentencePiece (not from our Java code).

Renders fixed conversations with the Agent-FLAN template written out here from docs/method.md section 8,
encodes the whole text with Llama-2's tokenizer.model, and marks a token as loss iff every character it came
from lies inside a loss span (a loss turn's content plus its end marker). The capability label (shard format 2,
docs/design.md section 3) of a token is 1 + the index in CAPABILITIES of the capability of the assistant turn
whose content plus end marker holds every character of the token, loss turn or not, else 0. SentencePiece reports each piece's
character range; the leading bytes of a byte-fallback character come back with an empty range, so an empty
piece takes the range of the next non-empty piece (the character it is part of).

Usage: scripts/reference/make_tokenizer_goldens.py  (writes format/src/test/resources/.../tokenizer-goldens.json)
"""
import json
import os
import sentencepiece as spm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "sample-data", "llama2-tokenizer", "tokenizer.model")
OUT = os.path.join(ROOT, "format", "src", "test", "resources", "org", "agentflan", "format",
                   "tokenizer-goldens.json")

# docs/method.md section 8: begin and end markers per role.
HUMAN_BEGIN = "<|Human|>\u0d46"
ASSISTANT_BEGIN = "<|Assistant|>\u0d46"
HUMAN_END = "\n "
ASSISTANT_END = "\u0d3f\n "
BOS = 1
# docs/design.md section 3: the label order of the capability_ids column.
CAPABILITIES = ["reasoning", "retrieval", "understanding", "instruction_following", "chat"]

TEXTS = [
    "Hello world",
    " leading space and  double  spaces ",
    "literal <s> and </s> and <unk> stay text",
    "<s>",
    "emoji 😀👍🏽 and CJK 中文字符 and Malayalam \u0d46\u0d3f in text",
    "tabs\tand\nnewlines\n\n",
    "Thought: I should call the API.\nAction: get_weather\nAction Input: {\"city\": \"Paris\"}",
    "rare chars: \u2603 \U0001f9ec \u00e9\u0301 \U00010348",
    "",
]

CONVERSATIONS = [
    [("system", "You are a helpful assistant.", False),
     ("user", "What is 2+2?", False),
     ("assistant", "4", True, "chat")],
    [("user", "Say </s> then <s> and <unk>.", False),
     ("assistant", "Sure: </s> <s> <unk></s>", True, "chat")],
    [("user", "Emoji 😀 and 中文?", False),
     ("assistant", "Yes 😀👍🏽 中文字符 \U0001f9ec", True, "chat"),
     ("user", "Malayalam markers \u0d46\u0d3f inside?", False),
     ("assistant", "\u0d46\u0d3f ok", True, "chat")],
    [("system", "Tools: get_weather(city)", False),
     ("user", "Weather in Paris?", False),
     ("assistant", "Thought: I need the weather.", False, "reasoning"),
     ("user", "Observation: sunny, 21C", False),
     ("assistant", "It is sunny and 21C in Paris.", True, "reasoning")],
    [("user", " spaces  around ", False),
     ("assistant", " padded answer ", True, "chat"),
     ("user", "", False),
     ("assistant", "", True, "retrieval")],
    [("user", "multi\nline\n\nquestion", False),
     ("assistant", "line one\nline two\n", True, "instruction_following"),
     ("user", "thanks", False),
     ("assistant", "you're welcome", True, "understanding")],
]


def render(turns):
    """Text, loss spans and labelled spans (character ranges, label) of a conversation."""
    text, spans, labelled = "", [], []
    for role, content, loss, *capability in turns:
        assistant = role == "assistant"
        text += ASSISTANT_BEGIN if assistant else HUMAN_BEGIN
        start = len(text)
        text += content + (ASSISTANT_END if assistant else HUMAN_END)
        if loss:
            spans.append((start, len(text)))
        if assistant:
            labelled.append((start, len(text), CAPABILITIES.index(capability[0]) + 1))
    return text, spans, labelled


def pieces_with_ranges(sp, text):
    proto = sp.encode(text, out_type="immutable_proto")
    pieces = [(p.id, p.begin, p.end) for p in proto.pieces]
    out = []
    for i, (pid, begin, end) in enumerate(pieces):
        if begin == end:  # leading byte of a byte-fallback character, or the dummy-prefix piece
            for _, b2, e2 in pieces[i + 1:]:
                if e2 > b2:
                    begin, end = b2, e2
                    break
        out.append((pid, begin, end))
    return out


def main():
    sp = spm.SentencePieceProcessor(model_file=MODEL)
    texts = [{"text": t, "ids": sp.encode(t)} for t in TEXTS]
    convs = []
    for turns in CONVERSATIONS:
        text, spans, labelled = render(turns)
        ids, mask, labels = [BOS], [0], [0]
        for pid, begin, end in pieces_with_ranges(sp, text):
            ids.append(pid)
            inside = end > begin and any(s <= begin and end <= e for s, e in spans)
            mask.append(1 if inside else 0)
            holders = [c for s, e, c in labelled if end > begin and s <= begin and end <= e]
            labels.append(holders[0] if holders else 0)
        assert ids[1:] == sp.encode(text)
        convs.append({"turns": [dict({"role": t[0], "content": t[1], "loss": t[2]},
                                     **({"capability": t[3]} if len(t) > 3 else {})) for t in turns],
                      "text": text, "input_ids": ids, "loss_mask": mask, "capability_ids": labels})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/reference/make_tokenizer_goldens.py",
                   "sentencepiece": spm.__version__, "texts": texts, "conversations": convs},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", OUT, len(texts), "texts,", len(convs), "conversations")


if __name__ == "__main__":
    main()
