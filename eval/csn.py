"""CodeSearchNet Challenge relevance (shared/data/codesearchnet/<lang>, BEIR format).

The corpus holds only the functions annotators graded (0-3) for the 99 queries,
so this is reranking, scored the way the Challenge's ``src/relevanceeval.py``
does: per query, walk the model's ranking and count rank only over that
query's annotated functions ("within" nDCG), with exponential gain
2^rel - 1 and the unrounded mean relevance of duplicate judgements
(``qrels/test_mean_relevance.tsv``); queries with no positive annotation are
skipped. ``ndcg_all`` is the Challenge's other variant, where every retrieved
function (another query's annotated code too) takes a rank.
Ranking metrics on the rounded integer grades (``qrels/test.tsv``) come too.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eval.common import BM25_NAME, EvalDataError, TaskResult, require_file
from eval.metrics import ranking, retrieval_metrics
from eval.retrieval import BM25Config, BM25Scorer, DenseScorer, load_beir, score_runs

log = logging.getLogger(__name__)

PRIMARY = "ndcg_within"
MEAN_QRELS = "test_mean_relevance.tsv"


def load_mean_relevance(path: str | Path) -> dict[str, dict[str, float]]:
    """query id -> {function id: mean relevance} from a 3-column TSV with header."""
    path = require_file(Path(path), "CodeSearchNet mean relevance")
    qrels: dict[str, dict[str, float]] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    for number, row in enumerate(rows[1:], start=2):
        try:
            query, doc, score = row
            qrels.setdefault(query, {})[doc] = float(score)
        except ValueError:
            raise EvalDataError(f"{path}: line {number} is not query-id, corpus-id, score") from None
    if not qrels:
        raise EvalDataError(f"{path}: no judgements")
    return qrels


def challenge_ndcg(
    predictions: dict[str, list[str]],
    relevance: dict[str, dict[str, float]],
    ignore_rank_of_non_annotated: bool = True,
) -> float:
    """Mean nDCG as CodeSearchNet's relevanceeval.py computes it (see module doc)."""
    total, counted = 0.0, 0
    for query, judged in relevance.items():
        rank, dcg = 1, 0.0
        for doc in predictions.get(query, []):
            if doc in judged:
                dcg += (2 ** judged[doc] - 1) / np.log2(rank + 1)
                rank += 1
            elif not ignore_rank_of_non_annotated:
                rank += 1
        ideal = sorted(judged.values(), reverse=True)
        idcg = sum((2**rel - 1) / np.log2(i + 1) for i, rel in enumerate(ideal, start=1))
        if idcg == 0:
            continue
        total += dcg / idcg
        counted += 1
    return float(total / max(counted, 1))


def evaluate_csn(
    folder: str | Path,
    encoders: Sequence = (),
    bm25: bool = True,
    bm25_config: BM25Config | None = None,
) -> list[TaskResult]:
    """Challenge nDCG (within / all) plus BEIR metrics on the integer grades."""
    folder = Path(folder)
    data = load_beir(folder, "test")
    mean_rel = load_mean_relevance(folder / "qrels" / MEAN_QRELS)
    missing = set(mean_rel) - set(data.queries)
    if missing:
        raise EvalDataError(f"{folder / 'queries.jsonl'}: lacks judged queries {sorted(missing)[:3]}")
    doc_ids, doc_texts = data.doc_ids, data.doc_texts()
    query_ids = list(mean_rel)
    scorers = {}
    configs = {}
    if bm25:
        bm25_config = bm25_config or BM25Config()
        scorers[BM25_NAME] = BM25Scorer(doc_texts, bm25_config).scores
        configs[BM25_NAME] = {"bm25": bm25_config.__dict__}
    for encoder in encoders:
        scorers[encoder.name] = DenseScorer(encoder, doc_texts).scores
        configs[encoder.name] = {"doc_text": "code as stored (title is empty)"}
    runs = score_runs(data.queries, query_ids, doc_ids, scorers, k=len(doc_ids))
    dataset = f"CodeSearchNet-{folder.name}"
    results = []
    for name, run in runs.items():
        predictions = {q: ranking(scores) for q, scores in run.items()}
        metrics = {
            "ndcg_within": challenge_ndcg(predictions, mean_rel, True),
            "ndcg_all": challenge_ndcg({q: r[:100] for q, r in predictions.items()}, mean_rel, False),
        } | retrieval_metrics(run, data.qrels)
        results.append(
            TaskResult(
                task="csn",
                dataset=dataset,
                split="test",
                method=name,
                metrics=metrics,
                primary=PRIMARY,
                counts=data.counts(),
                config=configs[name] | {"gain": "2^rel - 1 (Challenge)", "relevance": MEAN_QRELS},
            )
        )
    return results
