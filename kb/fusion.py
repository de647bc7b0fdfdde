"""Fusing a dense and a lexical ranking.

Convex combination (Bruch et al., "An Analysis of Fusion Functions for Hybrid
Retrieval", 2023): min-max normalise each system's scores over its own
candidates, then ``w * dense + (1 - w) * lexical``; a candidate one system did
not return gets 0 from it. Reciprocal-rank fusion (Cormack et al., 2009) is
kept for comparison: on SciFact it loses to BM25 alone when the dense side is
weak, because it ignores score gaps.
"""

from __future__ import annotations


def minmax(scores: dict[int, float]) -> dict[int, float]:
    """Scores mapped to [0, 1]; all-equal scores map to 1."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {key: (value - low) / span if span > 0 else 1.0 for key, value in scores.items()}


def convex_fusion(
    dense: dict[int, float], lexical: dict[int, float], dense_weight: float
) -> dict[int, float]:
    """Fused score of every candidate either system returned."""
    d, s = minmax(dense), minmax(lexical)
    return {
        key: dense_weight * d.get(key, 0.0) + (1.0 - dense_weight) * s.get(key, 0.0)
        for key in d.keys() | s.keys()
    }


def rrf(rankings: list[list[int]], k: int = 60) -> dict[int, float]:
    """Reciprocal-rank fusion: sum over systems of 1 / (k + rank), rank from 1."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused


def ranked(scores: dict[int, float], k: int) -> list[tuple[int, float]]:
    """The k best (key, score), best first; ties broken by key for stable output."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
