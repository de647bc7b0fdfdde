"""Fusing a dense and a lexical ranking.

Convex combination (Bruch et al., "An Analysis of Fusion Functions for Hybrid
Retrieval", 2023): min-max normalise each system's scores over the candidates,
then ``w * dense + (1 - w) * lexical``. Reciprocal-rank fusion (Cormack et al.,
2009) is measured in eval/ but not used: on SciFact it scores below BM25 alone
with our encoder (0.596 vs 0.676), because it ignores score gaps.
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


def ranked(scores: dict[int, float], k: int) -> list[tuple[int, float]]:
    """The k best (key, score), best first; ties broken by key for stable output."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
