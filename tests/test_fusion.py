"""Query fusion: convex combination of min-max-normalised dense and BM25 scores."""

from __future__ import annotations

from kb.fusion import convex_fusion, minmax, ranked


def test_minmax_maps_to_unit_interval():
    """The best score maps to 1, the worst to 0."""
    assert minmax({1: 2.0, 2: 4.0, 3: 3.0}) == {1: 0.0, 2: 1.0, 3: 0.5}


def test_weight_one_is_dense_order_and_zero_is_lexical_order():
    """dense_weight 1 ranks by the dense side alone, 0 by BM25 alone."""
    dense, lexical = {1: 0.9, 2: 0.5, 3: 0.1}, {1: 1.0, 2: 9.0, 3: 5.0}
    assert [k for k, _ in ranked(convex_fusion(dense, lexical, 1.0), 3)] == [1, 2, 3]
    assert [k for k, _ in ranked(convex_fusion(dense, lexical, 0.0), 3)] == [2, 3, 1]


def test_agreement_beats_one_strong_vote():
    """A fact both systems like beats one only BM25 loves, at an even weight."""
    dense, lexical = {1: 0.8, 2: 0.2, 3: 0.7}, {1: 6.0, 2: 10.0, 3: 0.0}
    assert ranked(convex_fusion(dense, lexical, 0.5), 1)[0][0] == 1
