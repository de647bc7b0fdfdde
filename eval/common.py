"""What every evaluator shares: the data error, result rows and their provenance,
and an encoder wrapper that never embeds the same text twice in one run."""

from __future__ import annotations

import datetime as _dt
import logging
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

BM25_NAME = "bm25"


class EvalDataError(Exception):
    """Evaluation data that is missing or malformed; the message names the file."""


@dataclass
class TaskResult:
    """One evaluator's answer: a flat metrics dict plus what produced it.

    ``primary`` names the metric a report leads with (like sentence-transformers'
    ``primary_metric``); ``counts`` and ``config`` travel into every saved row.
    """

    task: str
    dataset: str
    split: str
    method: str
    metrics: dict[str, float]
    primary: str
    counts: dict[str, int] = field(default_factory=dict)
    config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Provenance:
    commit: str
    date: str
    machine: str


def current_provenance() -> Provenance:
    """The git commit (``-dirty`` if the tree has edits), UTC time and host description."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = _git(root, "rev-parse", "--short", "HEAD")
        if _git(root, "status", "--porcelain", "--untracked-files=no"):
            commit += "-dirty"
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    machine = f"{platform.node()} {platform.machine()} {platform.processor() or ''}".strip()
    try:
        import torch

        machine += f", torch threads {torch.get_num_threads()}"
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    return Provenance(commit=commit, date=now, machine=machine)


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def rows_from(result: TaskResult, provenance: Provenance) -> list[dict]:
    """One flat row per metric, the shape results.json stores and reports read."""
    return [
        {
            "task": result.task,
            "dataset": result.dataset,
            "split": result.split,
            "counts": result.counts,
            "encoder": result.method,
            "metric": metric,
            "value": float(value),
            "primary": metric == result.primary,
            "commit": provenance.commit,
            "date": provenance.date,
            "machine": provenance.machine,
            "config": result.config,
        }
        for metric, value in result.metrics.items()
    ]


class CachedEncoder:
    """An encoder that remembers normalised vectors by text, so the tasks of one
    run (STS-B for STS and novelty, MRPC for SentEval and novelty) embed once."""

    def __init__(self, encoder, batch_size: int = 64):
        self.inner = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        self.batch_size = batch_size
        self._cache: dict[str, np.ndarray] = {}

    def encode(
        self, texts: Sequence[str], batch_size: int | None = None, normalize: bool = True
    ) -> np.ndarray:
        if not normalize:
            return self.inner.encode(list(texts), batch_size=batch_size or self.batch_size, normalize=False)
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.inner.encode(missing, batch_size=batch_size or self.batch_size)
            self._cache.update(zip(missing, vectors, strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)


def open_encoder(spec: str):
    """The encoder a CLI spec names, wrapped in :class:`CachedEncoder`."""
    from kb.encoders import load_encoder

    return CachedEncoder(load_encoder(spec))


def require_file(path: Path, what: str) -> Path:
    """``path`` if it is a file, else an :class:`EvalDataError` naming it."""
    if not path.is_file():
        raise EvalDataError(f"{path}: missing ({what})")
    return path
