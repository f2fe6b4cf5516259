"""Runs the Python snippet of docs/pytorch.md on an exported model and prints its greedy text and
its perplexity over the first 10,000 characters of a lyrics file (batch 1, the state carried: what
`eval` reports). A hand check of the export, never run by the tests (PyTorch is no dependency).

Usage: python3 scripts/pytorch/perplexity.py MODEL.pt.safetensors jaychou_lyrics.txt
"""
import math
import pathlib
import sys

doc = pathlib.Path(__file__).resolve().parents[2] / "docs" / "pytorch.md"
snippet = doc.read_text(encoding="utf-8").split("```python\n")[1].split("```")[0]
exec(snippet.replace('path = "jaychou.pt.safetensors"', "path = sys.argv[1]"))

text = open(sys.argv[2], encoding="utf-8").read()
chars = list(text.replace("\n", " ").replace("\r", " "))[:10000]
index = {t: i for i, t in enumerate(vocab)}
ids = torch.tensor([[index[c] for c in chars]])
with torch.no_grad():
    logits, _ = net(ids[:, :-1], None)
    loss = nn.functional.cross_entropy(logits.double(), ids[0, 1:])
print(f"perplexity {math.exp(loss.item()):.4f}")
