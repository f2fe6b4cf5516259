"""Makes an nn.RNN(nonlinearity='relu') language model with PyTorch's own initialisation (seed 0)
for a lyrics file, saves its state dict as safetensors with only "vocab" metadata (as a user's
`save_file(model.state_dict(), ...)` would), and prints its perplexity over the first 10,000
characters. `import --activation relu` of that file must give the same under `eval`. A hand check,
never run by the tests.

Usage: python3 scripts/pytorch/relu_state_dict.py OUT.safetensors jaychou_lyrics.txt
"""
import json
import math
import struct
import sys

import torch
from torch import nn

torch.manual_seed(0)
text = open(sys.argv[2], encoding="utf-8").read()
chars = list(text.replace("\n", " ").replace("\r", " "))[:10000]
vocab = sorted(set(chars))
V, H = len(vocab), 64
rnn, dense = nn.RNN(V, H, nonlinearity="relu"), nn.Linear(H, V)
state = {f"rnn.{k}": v for k, v in rnn.state_dict().items()}
state.update({f"dense.{k}": v for k, v in dense.state_dict().items()})

header, body = {"__metadata__": {"vocab": json.dumps(vocab, ensure_ascii=False)}}, b""
for name, t in state.items():
    data = t.contiguous().numpy().astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [len(body), len(body) + len(data)]}
    body += data
head = json.dumps(header).encode()
head += b" " * (-len(head) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(head)) + head + body)

index = {c: i for i, c in enumerate(vocab)}
ids = torch.tensor([index[c] for c in chars])
with torch.no_grad():
    Y, _ = rnn(nn.functional.one_hot(ids[:-1, None], V).float())
    loss = nn.functional.cross_entropy(dense(Y[:, 0]).double(), ids[1:])
print(f"perplexity {math.exp(loss.item()):.4f}")
