"""Known answers for the ranking and correlation metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval.csn import challenge_ndcg
from eval.metrics import (
    average_precision_at_k,
    binary_prf,
    correlations_x100,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank_at_k,
    retrieval_metrics,
)

GRADED = {"a": 3, "b": 2, "c": 1}


def test_perfect_ranking_has_ndcg_one():
    """Documents in descending relevance give nDCG 1.0."""
    assert ndcg_at_k(["a", "b", "c"], GRADED, 10) == pytest.approx(1.0)


def test_reversed_ranking_has_textbook_ndcg():
    """The reversed ranking scores DCG(1,2,3) / DCG(3,2,1) with linear gain."""
    reversed_dcg = 1 + 2 / math.log2(3) + 3 / math.log2(4)
    ideal_dcg = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(["c", "b", "a"], GRADED, 10) == pytest.approx(reversed_dcg / ideal_dcg)
    assert ndcg_at_k(["c", "b", "a"], GRADED, 10) == pytest.approx(0.7899, abs=1e-4)


def test_map_recall_mrr_on_a_hand_made_ranking():
    """Relevant docs at ranks 2 and 4 of 2 relevant: AP (1/2 + 2/4)/2, MRR 1/2."""
    ranked, rel = ["x", "r1", "y", "r2"], {"r1": 1, "r2": 1}
    assert average_precision_at_k(ranked, rel, 100) == pytest.approx(0.5)
    assert recall_at_k(ranked, rel, 2) == pytest.approx(0.5)
    assert reciprocal_rank_at_k(ranked, rel, 10) == pytest.approx(0.5)
    assert reciprocal_rank_at_k(ranked, rel, 1) == 0.0


def test_query_missing_from_the_run_scores_zero():
    """A judged query the system never answered pulls the mean down, as in BEIR."""
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    metrics = retrieval_metrics({"q1": {"d1": 1.0}}, qrels)
    assert metrics["ndcg@10"] == pytest.approx(0.5)
    assert metrics["recall@100"] == pytest.approx(0.5)


def test_metrics_agree_with_pytrec_eval():
    """nDCG@10, MAP@100 and Recall@100 match trec_eval on a random run."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    rng = np.random.default_rng(0)
    docs = [f"d{i}" for i in range(40)]
    run = {f"q{q}": {d: float(rng.random()) for d in docs} for q in range(5)}
    qrels = {q: {d: int(rng.integers(0, 3)) for d in rng.choice(docs, 6, replace=False)} for q in run}
    ours = retrieval_metrics(run, qrels)
    trec = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "map_cut.100", "recall.100"}).evaluate(run)
    assert ours["ndcg@10"] == pytest.approx(np.mean([v["ndcg_cut_10"] for v in trec.values()]))
    assert ours["map@100"] == pytest.approx(np.mean([v["map_cut_100"] for v in trec.values()]))
    assert ours["recall@100"] == pytest.approx(np.mean([v["recall_100"] for v in trec.values()]))


def test_spearman_of_a_monotone_map_is_100():
    """Any strictly increasing transform of the gold scores correlates perfectly by rank."""
    gold = np.linspace(0, 5, 50)
    result = correlations_x100(np.exp(gold), gold)
    assert result["spearman"] == pytest.approx(100.0)
    assert result["pearson"] < 100.0


def test_challenge_ndcg_counts_rank_only_over_annotated_functions():
    """Unannotated results do not push annotated ones down in the 'within' variant."""
    relevance = {"q": {"a": 3.0, "b": 0.0}}
    predictions = {"q": ["other", "a", "b"]}
    assert challenge_ndcg(predictions, relevance, True) == pytest.approx(1.0)
    assert challenge_ndcg(predictions, relevance, False) == pytest.approx(1 / math.log2(3))


def test_binary_prf_of_known():
    """Precision, recall, F1 and F0.5 of the positive class."""
    result = binary_prf(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool))
    assert result == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "f0.5": 0.5}


def test_f_half_weighs_precision_double():
    """With precision 1 and recall 0.5, F0.5 is 5/6 (textbook value) while F1 is 2/3."""
    result = binary_prf(np.array([1, 0, 0, 0], bool), np.array([1, 1, 0, 0], bool))
    assert result["f0.5"] == pytest.approx(5 / 6) and result["f1"] == pytest.approx(2 / 3)
