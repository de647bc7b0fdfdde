"""CharEncoder: texts in, unit-length float32 vectors out.

Long inputs: a text with more units (words and punctuation marks) than the
model's window (``EncoderConfig.max_units``, 256 by default) is cut into
consecutive windows; each window is encoded on its own and the window vectors
are averaged, weighted by their number of units. Nothing is silently cut off,
but attention does not cross window borders.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from embed.model import CharModel, Featurizer, Unit, collate

log = logging.getLogger(__name__)

_PROGRESS_MIN_TEXTS = 2_000  # below this a progress bar is noise


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class CharEncoder:
    """The project's character-level encoder (see ``embed/model.py``)."""

    def __init__(self, model: CharModel, digest: str = "untrained", device: str | None = None):
        self.device = torch.device(device) if device else _device()
        self.model = model.to(self.device).eval()
        self.featurizer = Featurizer(model.config, model.lexicon)
        self.dim = model.config.out_dim
        self.name = f"char-{digest}"

    def windows(self, text: str) -> list[list[Unit]]:
        """The units of ``text`` cut into windows of at most ``max_units`` units."""
        units = self.featurizer.text_units(text)
        step = self.model.config.max_units
        return [units[i : i + step] for i in range(0, len(units), step)] or [[]]

    @torch.inference_mode()
    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        normalize: bool = True,
        show_progress: bool | None = None,
    ) -> np.ndarray:
        """(N, dim) float32 vectors; long texts are chunked and pooled (module doc)."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a list of texts, not one string")
        windows, owner = [], []
        for row, text in enumerate(texts):
            for window in self.windows(text):
                windows.append(window)
                owner.append(row)
        # similar lengths together: less padding per batch
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        sums = torch.zeros(len(texts), self.dim, dtype=torch.float32)
        weights = torch.zeros(len(texts), dtype=torch.float32)
        owners = torch.tensor(owner, dtype=torch.long)
        if show_progress is None:
            show_progress = len(texts) >= _PROGRESS_MIN_TEXTS
        starts = range(0, len(order), batch_size)
        for start in tqdm(starts, disable=not show_progress, desc="encode", unit="batch"):
            idx = order[start : start + batch_size]
            batch = {k: v.to(self.device) for k, v in collate([windows[i] for i in idx]).items()}
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                vectors = self.model(**batch).float().cpu()  # (b, dim)
            n_units = batch["lengths"].cpu().float().clamp(min=1)
            sums.index_add_(0, owners[idx], vectors * n_units[:, None])
            weights.index_add_(0, owners[idx], n_units)
        out = sums / weights.clamp(min=1)[:, None]
        if normalize:
            out = torch.nn.functional.normalize(out, dim=1)
        return out.numpy().astype(np.float32)
