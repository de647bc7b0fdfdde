"""sentence-transformers custom module, so ``SentenceTransformer(dir)`` loads a
checkpoint directory offline (``modules.json`` names this class).

The module takes raw texts through ``tokenize`` (it only turns them into unit
row ids: there is no tokenizer) and returns ``sentence_embedding``. Texts
longer than the window are cut to the first window here, because one
sentence-transformers forward pass must yield one row per input; use
:class:`embed.CharEncoder` for chunk-and-pool encoding of long texts.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from sentence_transformers.base.modules.module import Module

from embed import checkpoint
from embed.model import Featurizer, collate


class CharModule(Module):
    save_in_root = True

    def __init__(self, path: str):
        super().__init__()
        self.model, self.digest = checkpoint.load(path)
        self.featurizer = Featurizer(self.model.config, self.model.lexicon)

    def tokenize(self, texts: list[str], **kwargs: Any) -> dict[str, torch.Tensor]:
        n = self.model.config.max_units
        return collate([self.featurizer.text_units(str(t))[:n] for t in texts])

    def preprocess(self, inputs: list[str], **kwargs: Any) -> dict[str, torch.Tensor]:
        return self.tokenize(inputs)

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        keys = ("ids", "offsets", "weights", "unit_index", "lengths")
        vectors = self.model(**{k: features[k] for k in keys})
        features["sentence_embedding"] = F.normalize(vectors.float(), dim=-1)
        return features

    def get_embedding_dimension(self) -> int:
        return self.model.config.out_dim

    def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
        checkpoint.save(self.model, output_path)

    @classmethod
    def load(cls, model_name_or_path: str, *args: Any, **kwargs: Any) -> CharModule:
        return cls(model_name_or_path)
