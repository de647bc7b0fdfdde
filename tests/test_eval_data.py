"""Evaluators on tiny hand-made folders, and one-line errors on bad data."""

from __future__ import annotations

import numpy as np
import pytest
from evalfixtures import write_beir, write_senteval, write_sts

from embed.typos import with_typos
from eval.common import EvalDataError, open_encoder
from eval.csn import evaluate_csn
from eval.novelty import FactPairs, evaluate_novelty
from eval.retrieval import convex_scores, evaluate_beir, load_beir, rrf_scores
from eval.senteval import SentEvalConfig, evaluate_senteval, load_task
from eval.sts import evaluate_sts, load_sts


@pytest.fixture()
def hash_encoder():
    return open_encoder("hash")


def test_beir_folder_gives_dense_bm25_and_both_hybrids(tmp_path, hash_encoder):
    """Word-matching queries are answered perfectly by every method, fusion weight from train."""
    results = evaluate_beir(write_beir(tmp_path / "tiny"), [hash_encoder])
    by_method = {r.method: r for r in results}
    assert set(by_method) == {"bm25", "hash-64", "rrf:hash-64+bm25", "convex:hash-64+bm25"}
    assert all(r.metrics["ndcg@10"] == pytest.approx(1.0) for r in results)
    assert by_method["convex:hash-64+bm25"].config["weight_source"].startswith("train qrels")
    assert by_method["bm25"].config["bm25"]["k1"] == 0.9


def test_convex_fusion_at_weight_zero_ranks_like_bm25():
    """w=0 keeps BM25's order over the candidate union (a fusion cannot hide BM25)."""
    rng = np.random.default_rng(1)
    dense, lexical = rng.random((3, 50)), rng.random((3, 50)) * 20
    fused = convex_scores(dense, lexical, 0.0, depth=10)
    top = np.argsort(-fused, axis=1)[:, :10]
    assert (top == np.argsort(-lexical, axis=1)[:, :10]).all()


def test_rrf_favours_documents_both_systems_rank_high():
    """A document first in both rankings gets 2/61, the most RRF can give."""
    a = np.array([[3.0, 2.0, 1.0]])
    b = np.array([[9.0, 1.0, 5.0]])
    fused = rrf_scores(a, b, k=60, depth=100)
    assert fused[0, 0] == pytest.approx(2 / 61)
    assert fused[0].argmax() == 0


def test_missing_qrels_file_is_a_one_line_error(tmp_path):
    """A BEIR folder without qrels/test.tsv names that file."""
    folder = write_beir(tmp_path / "b")
    (folder / "qrels" / "test.tsv").unlink()
    with pytest.raises(EvalDataError, match=r"qrels/test.tsv: missing") as info:
        load_beir(folder)
    assert "\n" not in str(info.value)


def test_malformed_corpus_is_a_one_line_error(tmp_path):
    """A corpus line that is not JSON names corpus.jsonl."""
    folder = write_beir(tmp_path / "b")
    (folder / "corpus.jsonl").write_text("{not json\n")
    with pytest.raises(EvalDataError, match=r"corpus.jsonl: not JSON lines"):
        load_beir(folder)


def test_non_integer_qrels_score_is_a_one_line_error(tmp_path):
    """A qrels score that is not an integer names the qrels file."""
    folder = write_beir(tmp_path / "b", test=("q1\td1\thigh",))
    with pytest.raises(EvalDataError, match=r"test.tsv: malformed qrels row"):
        load_beir(folder)


def test_csn_reports_challenge_ndcg(tmp_path, hash_encoder):
    """The CodeSearchNet evaluator reads mean relevance and leads with 'within' nDCG."""
    folder = write_beir(tmp_path / "python", train=())
    (folder / "qrels" / "test_mean_relevance.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t2.5\nq1\td2\t0.5\nq2\td2\t3\n"
    )
    results = evaluate_csn(folder, [hash_encoder])
    assert {r.primary for r in results} == {"ndcg_within"}
    assert all(r.metrics["ndcg_within"] == pytest.approx(1.0) for r in results)


def test_sts_spearman_on_a_synthetic_monotone_set(tmp_path, hash_encoder):
    """Gold scores rising with word overlap give a strongly positive Spearman."""
    pairs = load_sts(write_sts(tmp_path / "stsbenchmark"))
    result = evaluate_sts(pairs[0], hash_encoder)
    assert result.dataset == "STS-B" and result.counts["pairs"] == 30
    assert result.metrics["spearman"] > 80


def test_sts_folder_of_sts12_16_files(tmp_path, hash_encoder):
    """STS.input/STS.gs file pairs load, skipping pairs with a blank gold line."""
    folder = tmp_path / "STS16"
    folder.mkdir()
    (folder / "STS.input.news.txt").write_text("a b c\ta b c\nx y\tp q\nm n\tm n\n")
    (folder / "STS.gs.news.txt").write_text("5\n0\n\n")
    [pairs] = load_sts(folder)
    assert pairs.name == "STS16:news" and len(pairs.scores) == 2


def test_sts_row_with_too_few_fields_names_the_line(tmp_path):
    """A short row in stsbenchmark.tsv is reported with its line number."""
    folder = tmp_path / "stsbenchmark"
    folder.mkdir()
    (folder / "stsbenchmark.tsv").write_text("sentence1\tsentence2\tscore\tsplit\nonly one field\n")
    with pytest.raises(EvalDataError, match=r"stsbenchmark.tsv: line 2 has 1 fields"):
        load_sts(folder)


def test_perturbation_is_seeded_and_edits_about_ten_percent():
    """The same seed gives the same typos; a 100-char text gets 10 edits."""
    import random

    text = "the quick brown fox jumps over the lazy dog " * 2 + "and so on and on"
    once = with_typos(text, 0.1, random.Random(3))
    assert once == with_typos(text, 0.1, random.Random(3))
    assert once != text and abs(len(once) - len(text)) <= 10


def test_senteval_cross_validation_learns_a_separable_task(tmp_path, hash_encoder):
    """Sentiment words that split the classes give near-perfect 10-fold accuracy."""
    data = load_task(write_senteval(tmp_path), "MR")
    result = evaluate_senteval(data, hash_encoder, SentEvalConfig(folds=5))
    assert result.metrics["accuracy"] > 90 and result.split == "all"


def test_senteval_pair_task_reports_accuracy_and_f1(tmp_path, hash_encoder):
    """MRPC-style pairs train on train, score on test, and report F1 too."""
    data = load_task(write_senteval(tmp_path), "MRPC")
    result = evaluate_senteval(data, hash_encoder)
    assert result.counts == {"train": 30, "test": 10}
    assert {"accuracy", "f1"} <= set(result.metrics)


def test_senteval_missing_task_file_names_it(tmp_path):
    """A SentEval folder without the task's tsv names the expected file."""
    with pytest.raises(EvalDataError, match=r"TREC/trec.tsv: missing"):
        load_task(tmp_path, "TREC")


def test_novelty_scores_the_store_decision(hash_encoder):
    """Identical pairs are known and unrelated ones new under the store's own decision."""
    from kb.novelty import NoveltyConfig, same_fact

    same = ["the council approved the budget", "rain is expected on monday"]
    other = ["a striker scored twice", "the bank raised rates"]
    pairs = FactPairs("toy", "test", same + same, same + other, np.array([1, 1, 0, 0], bool))
    result = evaluate_novelty(pairs, pairs, hash_encoder, NoveltyConfig(threshold=0.9), same_fact)
    assert result.metrics["f1"] == pytest.approx(1.0)
    assert result.metrics["threshold"] == 0.9
