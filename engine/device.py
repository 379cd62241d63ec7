"""Device selection: "auto" takes CUDA when present; asking for CUDA without one is an error."""

from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' but no CUDA device is available here (torch.cuda.is_available() is False); "
            "use device='cpu' or 'auto'"
        )
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be one of auto, cpu, cuda; got {name!r}")
    return torch.device(name)
