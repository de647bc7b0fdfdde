"""newskb's own character-level sentence encoder (no tokenizer).

``embed.load()`` returns the shipped encoder; ``embed.load(path)`` any
checkpoint directory written by :func:`embed.checkpoint.save`.
"""

from __future__ import annotations

from pathlib import Path

from embed.checkpoint import CheckpointError, is_checkpoint
from embed.encoder import CharEncoder

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights"

__all__ = ["DEFAULT_WEIGHTS", "CharEncoder", "CheckpointError", "is_checkpoint", "load"]


def load(path: str | Path | None = None, device: str | None = None) -> CharEncoder:
    """The encoder stored in ``path`` (default: the shipped weights)."""
    from embed import checkpoint

    model, digest = checkpoint.load(DEFAULT_WEIGHTS if path is None else path)
    return CharEncoder(model, digest, device=device)
