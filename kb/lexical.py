"""BM25 over any list of texts (bm25s), with the settings recorded.

Lucene's variant with k1 = 0.9, b = 0.4 (the Anserini/BEIR defaults) and
English Snowball stemming; stopwords are kept out of the index.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BM25Config:
    k1: float = 0.9
    b: float = 0.4
    method: str = "lucene"
    stemmer: str = "english"
    stopwords: str = "en"

    def describe(self) -> dict:
        return asdict(self)


def _bm25s():
    import bm25s

    # bm25s sets its own logger to DEBUG at import; put it back under the application's control.
    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


class BM25Index:
    """Scores of a query against every indexed text."""

    def __init__(self, texts: list[str], config: BM25Config | None = None):
        import Stemmer

        bm25s = _bm25s()
        self.config = config or BM25Config()
        self._stemmer = Stemmer.Stemmer(self.config.stemmer)
        self._bm25 = bm25s.BM25(k1=self.config.k1, b=self.config.b, method=self.config.method)
        self.size = len(texts)
        if texts:
            tokens = self._tokenize(texts)
            self._bm25.index(tokens, show_progress=False)

    def _tokenize(self, texts: list[str]):
        return _bm25s().tokenize(
            texts, stopwords=self.config.stopwords, stemmer=self._stemmer, show_progress=False
        )

    def save(self, directory: Path) -> None:
        """Write the index (numpy arrays and JSON, no pickle) into a new ``directory``."""
        self._bm25.save(str(directory), show_progress=False)
        (directory / "newskb.json").write_text(json.dumps({"size": self.size, **self.config.describe()}))

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        import Stemmer

        meta = json.loads((directory / "newskb.json").read_text())
        index = cls.__new__(cls)
        index.size = meta.pop("size")
        index.config = BM25Config(**meta)
        index._stemmer = Stemmer.Stemmer(index.config.stemmer)
        index._bm25 = _bm25s().BM25.load(str(directory), show_progress=False)
        return index

    def scores(self, query: str) -> np.ndarray:
        """(size,) float32 BM25 score of every text; zeros when the query shares no term."""
        if self.size == 0:
            return np.zeros(0, np.float32)
        tokens = _bm25s().tokenize(
            [query], stopwords=self.config.stopwords, stemmer=self._stemmer,
            show_progress=False, return_ids=False,
        )[0]  # fmt: skip
        if not tokens:
            return np.zeros(self.size, np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def top(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices, scores) of the k best texts with a positive score, best first."""
        scores = self.scores(query)
        k = min(k, int((scores > 0).sum()))
        if k == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return best.astype(np.int64), scores[best]
