"""Novelty decisions, the heart of "insert only missing facts".

For each pair, the first sentence is the only fact in a fresh store, so it is
the candidate's nearest known fact; the store's own decision
(:func:`kb.novelty.same_fact` with the cosine of the two embeddings) says
whether the second sentence is already known. Gold "same fact":

- MRPC: the pair is a paraphrase (label 1);
- STS-B: score >= 4 is the same fact, score <= 2 a different one; pairs in
  between are ambiguous and left out.

Reported on the test pairs: precision, recall, F1 and F0.5 of "known" at the
configured threshold (``NoveltyConfig()``), and at the threshold that maximises
F0.5 on the *train* pairs of the same dataset (grid 0.30-0.98 step 0.02), which
is what justifies (or questions) the default. F0.5 weighs precision double
because the two errors are not equal for a knowledge base: a false "known"
drops a new fact, a false "new" only stores a duplicate.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.common import EvalDataError, TaskResult
from eval.metrics import binary_prf
from eval.senteval import load_task
from eval.sts import cosine_of_pairs, load_stsb

log = logging.getLogger(__name__)

PRIMARY = "f1"
THRESHOLD_GRID = tuple(round(0.3 + 0.02 * i, 2) for i in range(35))
SAME_AT_LEAST, DIFFERENT_AT_MOST = 4.0, 2.0


@dataclass
class FactPairs:
    dataset: str
    split: str
    known: list[str]
    candidate: list[str]
    same: np.ndarray  # (N,) bool gold


def mrpc_pairs(senteval_folder: str | Path, split: str) -> FactPairs:
    """MRPC pairs of ``split``; paraphrase = the same fact."""
    data = load_task(senteval_folder, "MRPC")
    pairs = data.texts[split]
    return FactPairs("MRPC", split, [a for a, _ in pairs], [b for _, b in pairs], data.labels[split] == "1")


def stsb_pairs(stsb_path: str | Path, split: str) -> FactPairs:
    """STS-B pairs of ``split`` scored >= 4 (same) or <= 2 (different)."""
    sts = load_stsb(stsb_path, split)
    keep = (sts.scores >= SAME_AT_LEAST) | (sts.scores <= DIFFERENT_AT_MOST)
    if not keep.any():
        raise EvalDataError(f"{stsb_path}: no STS-B {split} pairs scored >= 4 or <= 2")
    index = np.flatnonzero(keep)
    return FactPairs(
        "STS-B",
        split,
        [sts.first[i] for i in index],
        [sts.second[i] for i in index],
        sts.scores[index] >= SAME_AT_LEAST,
    )


def _default_decider():
    from kb.novelty import NoveltyConfig, same_fact

    return NoveltyConfig(), same_fact


def decisions(pairs: FactPairs, cosines: np.ndarray, config, decide: Callable) -> np.ndarray:
    """The store's verdict "known" for every pair, (N,) bool."""
    return np.array(
        [
            decide(c, k, float(s), config)
            for c, k, s in zip(pairs.candidate, pairs.known, cosines, strict=True)
        ]
    )


def best_threshold(pairs: FactPairs, cosines: np.ndarray, config, decide: Callable) -> float:
    """The grid threshold with the best F0.5 of "known" (ties: the higher, safer one)."""
    score = {
        t: binary_prf(
            decisions(pairs, cosines, dataclasses.replace(config, threshold=t), decide), pairs.same
        )["f0.5"]
        for t in THRESHOLD_GRID
    }
    return max(THRESHOLD_GRID, key=lambda t: (score[t], t))


def evaluate_novelty(
    test: FactPairs, train: FactPairs, encoder, config=None, decide: Callable | None = None
) -> TaskResult:
    """P/R/F1 of "known" at the configured threshold and at the train-tuned one."""
    if config is None or decide is None:
        config, decide = _default_decider()
    test_cos = cosine_of_pairs(encoder, test.candidate, test.known)
    train_cos = cosine_of_pairs(encoder, train.candidate, train.known)
    metrics = binary_prf(decisions(test, test_cos, config, decide), test.same)
    tuned = best_threshold(train, train_cos, config, decide)
    tuned_metrics = binary_prf(
        decisions(test, test_cos, dataclasses.replace(config, threshold=tuned), decide), test.same
    )
    metrics |= {f"tuned_{k}": v for k, v in tuned_metrics.items()}
    metrics |= {"threshold": float(config.threshold), "tuned_threshold": tuned}
    return TaskResult(
        task="novelty",
        dataset=test.dataset,
        split=test.split,
        method=encoder.name,
        metrics=metrics,
        primary=PRIMARY,
        counts={
            "pairs": len(test.same),
            "same": int(test.same.sum()),
            "train_pairs": len(train.same),
        },
        config={
            "decision": "kb.novelty.same_fact",
            "novelty_config": dataclasses.asdict(config),
            "tuned_on": f"{train.dataset} {train.split}",
            "grid": [THRESHOLD_GRID[0], THRESHOLD_GRID[-1], 0.02],
        },
    )
