"""Retrieval on any BEIR-format folder: dense (any encoder), BM25, and two hybrids.

Dense: exact inner product of L2-normalised vectors (= cosine); documents are
embedded as ``title + " " + text`` like BEIR's SentenceBERT wrapper.

BM25: ``bm25s`` with Lucene's scoring (Lucene's idf, k1=0.9, b=0.4, the Anserini
BEIR defaults), lower-casing, English stop words and the Snowball English
stemmer (PyStemmer). The settings go into every row's config.

Hybrids, both over the candidate set = union of the dense and BM25 top-100s:

- RRF (Cormack et al., 2009): score(d) = sum over the two rankings of
  1 / (60 + rank(d)), rank counted from 1; a document absent from one top-100
  gets nothing from it.
- Convex combination: each system's scores are min-max normalised over the
  query's candidate set, then fused = w * dense + (1 - w) * bm25. ``w`` is
  chosen on the folder's *train* qrels (grid 0, 0.1, ..., 1 maximising
  nDCG@10), never on the test split; w = 0 is BM25 alone, so a convex fusion
  that scores below BM25 on train cannot be chosen.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from eval.common import BM25_NAME, EvalDataError, TaskResult, require_file
from eval.metrics import ndcg_at_k, ranking, retrieval_metrics
from kb.lexical import BM25Config, BM25Index

log = logging.getLogger(__name__)

PRIMARY = "ndcg@10"
_QUERY_CHUNK = 256  # queries scored at once: bounds the (chunk, n_docs) matrices


@dataclass(frozen=True)
class FusionConfig:
    rrf_k: int = 60
    depth: int = 100
    weights: tuple[float, ...] = field(default_factory=lambda: tuple(i / 10 for i in range(11)))
    default_weight: float = 0.5  # only when the folder has no train qrels


@dataclass
class BeirData:
    corpus: dict[str, dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, float]]

    @property
    def doc_ids(self) -> list[str]:
        return list(self.corpus)

    def doc_texts(self) -> list[str]:
        return [f"{doc.get('title') or ''} {doc.get('text') or ''}".strip() for doc in self.corpus.values()]

    def counts(self) -> dict[str, int]:
        return {
            "docs": len(self.corpus),
            "queries": len(self.qrels),
            "qrels": sum(len(rel) for rel in self.qrels.values()),
        }


def load_beir(folder: str | Path, split: str = "test") -> BeirData:
    """A BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) read with
    ``beir``'s GenericDataLoader; problems become one-line :class:`EvalDataError`."""
    from beir.datasets.data_loader import GenericDataLoader

    folder = Path(folder)
    if not folder.is_dir():
        raise EvalDataError(f"{folder}: not a directory (expected a BEIR folder)")
    for path, what in (
        (folder / "corpus.jsonl", "BEIR corpus"),
        (folder / "queries.jsonl", "BEIR queries"),
        (folder / "qrels" / f"{split}.tsv", f"BEIR qrels for split {split!r}"),
    ):
        require_file(path, what)
    loader = GenericDataLoader(data_folder=str(folder))
    try:
        loader.load_corpus()
    except (json.JSONDecodeError, AttributeError) as exc:
        raise EvalDataError(f"{loader.corpus_file}: not JSON lines of objects ({exc})") from None
    try:
        corpus, queries, qrels = loader.load(split=split)
    except (json.JSONDecodeError, AttributeError) as exc:
        raise EvalDataError(f"{loader.query_file}: not JSON lines of objects ({exc})") from None
    except (ValueError, IndexError) as exc:
        raise EvalDataError(f"{loader.qrels_file}: malformed qrels row ({exc})") from None
    except KeyError as exc:
        raise EvalDataError(f"{loader.qrels_file}: names a query not in queries.jsonl: {exc}") from None
    if not corpus or not qrels:
        raise EvalDataError(f"{folder}: empty corpus or qrels for split {split!r}")
    return BeirData(corpus=corpus, queries=queries, qrels=qrels)


class BM25Scorer:
    """BM25 scores of every document for a batch of queries (kb's BM25, same settings)."""

    def __init__(self, doc_texts: Sequence[str], config: BM25Config | None = None):
        self.config = config or BM25Config()
        self._index = BM25Index(list(doc_texts), self.config)
        self.n_docs = len(doc_texts)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(queries), self.n_docs), dtype=np.float32)
        for row, query in enumerate(queries):
            out[row] = self._index.scores(query)
        return out


class DenseScorer:
    """Cosine of every document for a batch of queries (exact, no index)."""

    def __init__(self, encoder, doc_texts: Sequence[str]):
        self.encoder = encoder
        self.doc_vectors = encoder.encode(list(doc_texts))  # (N, dim), unit rows

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        return self.encoder.encode(list(queries)) @ self.doc_vectors.T  # (Q, N)


def top_k_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean (Q, N): True where a document is in its query's top k."""
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    mask = np.zeros(scores.shape, dtype=bool)
    np.put_along_axis(mask, top, True, axis=1)
    return mask


def rrf_scores(a: np.ndarray, b: np.ndarray, k: int = 60, depth: int = 100) -> np.ndarray:
    """Reciprocal-rank fusion of two (Q, N) score matrices, each cut at ``depth``."""
    fused = np.zeros(a.shape, dtype=np.float64)
    for scores in (a, b):
        order = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
        ranks = np.arange(1, order.shape[1] + 1, dtype=np.float64)
        np.put_along_axis(fused, order, np.take_along_axis(fused, order, 1) + 1 / (k + ranks), 1)
    return fused


def convex_scores(dense: np.ndarray, lexical: np.ndarray, weight: float, depth: int = 100) -> np.ndarray:
    """w * minmax(dense) + (1 - w) * minmax(bm25) over the union of both top-``depth``;
    documents outside the union get -inf."""
    union = top_k_mask(dense, depth) | top_k_mask(lexical, depth)
    fused = weight * _minmax_over(dense, union) + (1 - weight) * _minmax_over(lexical, union)
    return np.where(union, fused, -np.inf)


def _minmax_over(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    low = np.where(mask, scores, np.inf).min(axis=1, keepdims=True)
    high = np.where(mask, scores, -np.inf).max(axis=1, keepdims=True)
    return (scores - low) / np.maximum(high - low, 1e-12)


def run_from_scores(
    scores: np.ndarray, query_ids: Sequence[str], doc_ids: Sequence[str], k: int = 100
) -> dict[str, dict[str, float]]:
    """The top-``k`` documents of each query as a run dict (finite scores only)."""
    top = np.argpartition(-scores, min(k, scores.shape[1]) - 1, axis=1)[:, :k]
    run = {}
    for row, qid in enumerate(query_ids):
        run[qid] = {doc_ids[j]: float(scores[row, j]) for j in top[row] if np.isfinite(scores[row, j])}
    return run


def score_runs(
    queries: dict[str, str],
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    scorers: dict[str, Callable[[Sequence[str]], np.ndarray]],
    combine: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] = lambda s: s,
    k: int = 100,
) -> dict[str, dict[str, dict[str, float]]]:
    """Runs for each named scorer and whatever ``combine`` derives from their
    score matrices, computed in query chunks."""
    runs: dict[str, dict[str, dict[str, float]]] = {}
    for start in range(0, len(query_ids), _QUERY_CHUNK):
        chunk = list(query_ids[start : start + _QUERY_CHUNK])
        texts = [queries[q] for q in chunk]
        matrices = {name: scorer(texts) for name, scorer in scorers.items()}
        for name, matrix in combine(matrices).items():
            runs.setdefault(name, {}).update(run_from_scores(matrix, chunk, doc_ids, k))
    return runs


def choose_convex_weight(
    train_runs: dict[str, dict[str, dict[str, float]]],
    train_qrels: dict[str, dict[str, float]],
    weights: Sequence[float],
) -> tuple[float, dict[float, float]]:
    """The weight with the best mean train nDCG@10 (ties: the smaller weight,
    i.e. closer to BM25 alone) and the whole curve."""
    curve = {}
    for w in weights:
        run = train_runs[f"convex@{w:.2f}"]
        curve[w] = float(
            np.mean([ndcg_at_k(ranking(run.get(q, {})), rel, 10) for q, rel in train_qrels.items()])
        )
    best = max(weights, key=lambda w: (curve[w], -w))
    return best, curve


def _hybrid_combine(weights: Sequence[float], fusion: FusionConfig, dense_name: str):
    def combine(m: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = dict(m)
        out["rrf"] = rrf_scores(m[dense_name], m[BM25_NAME], fusion.rrf_k, fusion.depth)
        for w in weights:
            out[f"convex@{w:.2f}"] = convex_scores(m[dense_name], m[BM25_NAME], w, fusion.depth)
        return out

    return combine


def evaluate_beir(
    folder: str | Path,
    encoders: Sequence = (),
    bm25: bool = True,
    hybrid: bool = True,
    dataset: str | None = None,
    bm25_config: BM25Config | None = None,
    fusion: FusionConfig = FusionConfig(),
) -> list[TaskResult]:
    """Test-split metrics for each dense encoder, BM25, and (with both) RRF and
    the train-tuned convex fusion of each encoder with BM25."""
    folder = Path(folder)
    data = load_beir(folder, "test")
    train = load_beir(folder, "train") if (folder / "qrels" / "train.tsv").is_file() else None
    bm25_config = bm25_config or BM25Config()
    lexical = BM25Scorer(data.doc_texts(), bm25_config) if bm25 else None
    base = {"task": "retrieval", "dataset": dataset or folder.name, "split": "test", "counts": data.counts()}
    bm25_desc = {"bm25": asdict(bm25_config)}
    results: list[TaskResult] = []
    if lexical is not None:
        run = score_runs(data.queries, list(data.qrels), data.doc_ids, {BM25_NAME: lexical.scores})
        metrics = retrieval_metrics(run[BM25_NAME], data.qrels)
        results.append(
            TaskResult(**base, method=BM25_NAME, metrics=metrics, primary=PRIMARY, config=bm25_desc)
        )
    for encoder in encoders:
        log.info(
            "retrieval %s: embedding %d documents with %s", base["dataset"], len(data.corpus), encoder.name
        )
        dense = DenseScorer(encoder, data.doc_texts())
        if lexical is None or not hybrid:
            run = score_runs(data.queries, list(data.qrels), data.doc_ids, {encoder.name: dense.scores})
            metrics = retrieval_metrics(run[encoder.name], data.qrels)
            results.append(
                TaskResult(
                    **base, method=encoder.name, metrics=metrics, primary=PRIMARY, config=_DENSE_CONFIG
                )
            )
        else:
            scorers = {encoder.name: dense.scores, BM25_NAME: lexical.scores}
            results += _dense_and_hybrids(data, train, encoder.name, scorers, fusion, base, bm25_desc)
    return results


_DENSE_CONFIG = {"doc_text": "title + ' ' + text", "similarity": "cosine (exact)"}


def _dense_and_hybrids(
    data: BeirData,
    train: BeirData | None,
    name: str,
    scorers: dict,
    fusion: FusionConfig,
    base: dict,
    bm25_desc: dict,
) -> list[TaskResult]:
    """Dense, RRF and convex results of one encoder; the convex weight from ``train``."""
    weight, curve, source = fusion.default_weight, {}, "default (no qrels/train.tsv)"
    if train is not None:
        combine = _hybrid_combine(fusion.weights, fusion, name)
        train_runs = score_runs(train.queries, list(train.qrels), data.doc_ids, scorers, combine)
        weight, curve = choose_convex_weight(train_runs, train.qrels, fusion.weights)
        source = f"train qrels ({len(train.qrels)} queries), best nDCG@10 on grid"
    combine = _hybrid_combine([weight], fusion, name)
    runs = score_runs(data.queries, list(data.qrels), data.doc_ids, scorers, combine)
    convex_config = {
        "fusion": "convex min-max over union of top-100s",
        "dense_weight": weight,
        "weight_source": source,
        "train_ndcg@10_by_weight": {f"{w:.1f}": round(v, 4) for w, v in curve.items()},
        **bm25_desc,
    }
    rrf_config = {"fusion": "rrf", "k": fusion.rrf_k, "depth": fusion.depth, **bm25_desc}
    return [
        TaskResult(
            **base,
            method=method,
            primary=PRIMARY,
            config=config,
            metrics=retrieval_metrics(runs[key], data.qrels),
        )
        for method, key, config in (
            (name, name, _DENSE_CONFIG),
            (f"rrf:{name}+bm25", "rrf", rrf_config),
            (f"convex:{name}+bm25", f"convex@{weight:.2f}", convex_config),
        )
    ]
