"""The layer objects against PyTorch by hand (see scripts/pytorch/layers.ts): loads each of our
exported 2-layer bidirectional modules into nn.LSTM/GRU/RNN(..., bidirectional=True,
batch_first=True) with strict=True and compares the outputs and final states; then writes a
PyTorch module of each kind (time-major, both biases trained-like random) for `layers.ts import`.

Usage: python3 scripts/pytorch/layers.py DIR
"""
import json
import struct
import sys

import torch
from torch import nn

DIR = sys.argv[1]
MODULES = [("lstm", nn.LSTM), ("gru", nn.GRU), ("rnn", nn.RNN)]


def load(path):
    data = open(path, "rb").read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    header.pop("__metadata__", None)
    body = data[8 + size :]
    return {
        k: torch.frombuffer(bytearray(body[v["data_offsets"][0] : v["data_offsets"][1]]), dtype=torch.float32).reshape(v["shape"])
        for k, v in header.items()
    }


def save(path, tensors):
    header, body = {}, b""
    for k, v in tensors.items():
        d = v.contiguous().numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [len(body), len(body) + len(d)]}
        body += d
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    open(path, "wb").write(struct.pack("<Q", len(head)) + head + body)


torch.manual_seed(0)
for name, Module in MODULES:
    t = load(f"{DIR}/ours_{name}.safetensors")
    state = {k[len("rnn.") :]: v for k, v in t.items() if k.startswith("rnn.")}
    m = Module(5, 7, num_layers=2, bidirectional=True, batch_first=True)
    m.load_state_dict(state, strict=True)
    with torch.no_grad():
        if name == "lstm":
            out, (hn, cn) = m(t["x"], (t["h0"], t["c0"]))
        else:
            out, hn = m(t["x"], t["h0"])
    err = max((out - t["out"]).abs().max().item(), (hn - t["hn"]).abs().max().item())
    if name == "lstm":
        err = max(err, (cn - t["cn"]).abs().max().item())
    print(f"{name}: ours loaded with strict=True; max |difference| {err:.2e}")

    theirs = Module(5, 7, num_layers=2, bidirectional=True)
    x = torch.randn(6, 3, 5)
    with torch.no_grad():
        out, hn = theirs(x)
    if name == "lstm":
        hn = hn[0]
    save(f"{DIR}/torch_{name}.safetensors", {**{f"rnn.{k}": v for k, v in theirs.state_dict().items()}, "x": x, "out": out, "hn": hn})
