"""Ranking and correlation metrics, in plain numpy, with the textbook definitions
that trec_eval / pytrec_eval (and hence BEIR) use:

- nDCG@k: gain = relevance (linear, trec_eval's ``ndcg_cut``), discount log2(rank + 1),
  ideal DCG from the judged relevances sorted descending;
- MAP@k: sum of precision at each relevant hit within the top k, divided by the
  number of relevant documents (relevance > 0);
- Recall@k: relevant documents in the top k over all relevant documents;
- MRR@k: 1 / rank of the first relevant document within the top k, else 0.

A *run* maps query id -> {doc id: score}; *qrels* map query id -> {doc id: relevance}.
Ties in score are broken by doc id so results do not depend on dict order.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import stats

NDCG_KS = (1, 3, 5, 10, 100)
RECALL_KS = (10, 100)


def ranking(scores: dict[str, float], k: int | None = None) -> list[str]:
    """Doc ids ordered by descending score (ties by id), cut at ``k``."""
    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [doc for doc, _ in ordered[:k]]


def dcg(gains: Iterable[float]) -> float:
    """Discounted cumulative gain of gains listed in rank order."""
    gains = np.asarray(list(gains), dtype=np.float64)
    return float(np.sum(gains / np.log2(np.arange(2, gains.size + 2))))


def ndcg_at_k(ranked: list[str], relevance: dict[str, float], k: int) -> float:
    """nDCG@k with linear gain; 0 when nothing is relevant."""
    ideal = dcg(sorted((r for r in relevance.values() if r > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg(max(relevance.get(doc, 0.0), 0.0) for doc in ranked[:k]) / ideal


def average_precision_at_k(ranked: list[str], relevance: dict[str, float], k: int) -> float:
    n_relevant = sum(1 for r in relevance.values() if r > 0)
    if n_relevant == 0:
        return 0.0
    hits, total = 0, 0.0
    for rank, doc in enumerate(ranked[:k], start=1):
        if relevance.get(doc, 0) > 0:
            hits += 1
            total += hits / rank
    return total / n_relevant


def recall_at_k(ranked: list[str], relevance: dict[str, float], k: int) -> float:
    relevant = {doc for doc, r in relevance.items() if r > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def reciprocal_rank_at_k(ranked: list[str], relevance: dict[str, float], k: int) -> float:
    for rank, doc in enumerate(ranked[:k], start=1):
        if relevance.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def retrieval_metrics(
    run: dict[str, dict[str, float]], qrels: dict[str, dict[str, float]]
) -> dict[str, float]:
    """nDCG@1/3/5/10/100, MAP@100, Recall@10/100 and MRR@10 averaged over the
    queries of ``qrels`` that have a relevant document (a query missing from the
    run scores 0, as in BEIR)."""
    names = [f"ndcg@{k}" for k in NDCG_KS] + ["map@100"]
    names += [f"recall@{k}" for k in RECALL_KS] + ["mrr@10"]
    totals = dict.fromkeys(names, 0.0)
    judged = [q for q, rel in qrels.items() if any(r > 0 for r in rel.values())]
    for qid in judged:
        ranked = ranking(run.get(qid, {}), 100)
        rel = qrels[qid]
        for k in NDCG_KS:
            totals[f"ndcg@{k}"] += ndcg_at_k(ranked, rel, k)
        totals["map@100"] += average_precision_at_k(ranked, rel, 100)
        for k in RECALL_KS:
            totals[f"recall@{k}"] += recall_at_k(ranked, rel, k)
        totals["mrr@10"] += reciprocal_rank_at_k(ranked, rel, 10)
    return {name: total / max(len(judged), 1) for name, total in totals.items()}


def correlations_x100(predicted: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """Spearman and Pearson correlation, both x100 (the STS convention)."""
    return {
        "spearman": float(stats.spearmanr(predicted, gold).statistic * 100),
        "pearson": float(stats.pearsonr(predicted, gold).statistic * 100),
    }


def binary_prf(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 and F0.5 (precision weighted double) of the positive class."""
    predicted, actual = np.asarray(predicted, bool), np.asarray(actual, bool)
    tp = float(np.sum(predicted & actual))
    precision = tp / max(float(predicted.sum()), 1.0)
    recall = tp / max(float(actual.sum()), 1.0)
    return {"precision": precision, "recall": recall, "f1": _f_beta(precision, recall, 1.0),
            "f0.5": _f_beta(precision, recall, 0.5)}  # fmt: skip


def _f_beta(precision: float, recall: float, beta: float) -> float:
    weight = beta * beta
    denominator = weight * precision + recall
    return (1 + weight) * precision * recall / denominator if denominator else 0.0
