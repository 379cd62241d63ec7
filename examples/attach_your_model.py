"""Your own model, Dataset, DataLoader and loop, with rnnscope attached by one line.

A sentiment-style classifier: an embedding, a 2-layer nn.LSTM, a linear read-out of the last
state. The task (is the token 7 anywhere in the sequence?) needs memory over the whole
sequence, so dL/dh_t shows how far back the gradient reaches. Run it, then open the file:

    python examples/attach_your_model.py [run.rnnscope] [--steps 300] [--window]
    python main.py open run.rnnscope      # the window, following the run while it trains
    python main.py info run.rnnscope
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

import rnnscope


class HasSeven(Dataset):
    def __init__(self, n: int, length: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randint(0, 10, (n, length), generator=g)
        self.y = (self.x == 7).any(dim=1).float()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 16)
        self.lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True)
        self.out = nn.Linear(32, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(self.embed(x))
        return self.out(h[:, -1]).squeeze(-1)


def main(argv: list[str] | None = None) -> float:
    ap = argparse.ArgumentParser()
    ap.add_argument("path", nargs="?", default="run.rnnscope")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--window", action="store_true", help="open the debugger window on the run")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loader = DataLoader(HasSeven(4096, 20), batch_size=32, shuffle=True)
    scope = rnnscope.attach(  # the one line
        model, args.path, optimizer=opt, probe_every=10, overwrite=True, window=args.window
    )
    step, loss = 0, torch.tensor(0.0)
    while step < args.steps:
        for x, y in loader:
            loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            scope.step(loss)  # optional: the step's loss; a paused window holds the loop here
            step += 1
            if step == args.steps:
                break
    scope.detach()
    print(f"{step} steps, last loss {loss.item():.4f}, recorded in {Path(args.path).resolve()}")
    return loss.item()


if __name__ == "__main__":
    main(sys.argv[1:])
