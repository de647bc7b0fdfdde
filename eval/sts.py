"""Semantic textual similarity: Spearman and Pearson (x100) of the cosine of the
two sentences' embeddings against the gold scores.

Readers: STS-B (``stsbenchmark.tsv`` or the original ``sts-*.csv``), SICK-R
(``sick_r.tsv`` or ``SICK_*.txt``) and any folder of STS12-16 style files
(``STS.input.<name>.txt`` beside ``STS.gs.<name>.txt``; pairs whose gold line is
blank are unscored and skipped, as SentEval does).

``perturb`` (typo robustness): a fraction of each sentence's characters is hit
by a seeded random edit (swap with the next character, drop, or insert a
random lower-case letter), on both sides of every pair.
"""

from __future__ import annotations

import csv
import logging
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embed.typos import with_typos
from eval.common import EvalDataError, TaskResult, require_file
from eval.metrics import correlations_x100

log = logging.getLogger(__name__)

PRIMARY = "spearman"


@dataclass
class PairSet:
    name: str
    split: str
    first: list[str]
    second: list[str]
    scores: np.ndarray  # (N,) gold similarity


def _read_rows(path: Path, min_fields: int) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = [r for r in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if r]
    for number, row in enumerate(rows, start=1):
        if len(row) < min_fields:
            raise EvalDataError(f"{path}: line {number} has {len(row)} fields, expected {min_fields}")
    return rows


def _pairs(name: str, split: str, path: Path, rows: list[tuple[str, str, str]]) -> PairSet:
    if not rows:
        raise EvalDataError(f"{path}: no pairs for split {split!r}")
    try:
        scores = np.array([float(s) for _, _, s in rows])
    except ValueError as exc:
        raise EvalDataError(f"{path}: a gold score is not a number ({exc})") from None
    return PairSet(name, split, [a for a, _, _ in rows], [b for _, b, _ in rows], scores)


def _tsv_with_split(path: Path, name: str, split: str) -> PairSet:
    """sentence1, sentence2, score, split with a header row (the shared/ conversion)."""
    rows = _read_rows(path, 4)[1:]
    return _pairs(name, split, path, [(r[0], r[1], r[2]) for r in rows if r[3] == split])


def load_stsb(path: str | Path, split: str = "test") -> PairSet:
    """STS-B pairs of one split from the folder, ``stsbenchmark.tsv`` or ``sts-<split>.csv``."""
    path = Path(path)
    if path.is_dir():
        path = (
            path / "stsbenchmark.tsv" if (path / "stsbenchmark.tsv").is_file() else path / f"sts-{split}.csv"
        )
    require_file(path, "STS-B")
    if path.suffix == ".tsv":
        return _tsv_with_split(path, "STS-B", split)
    # Original release: genre, file, year, id, score, sentence1, sentence2[, sources]
    rows = _read_rows(path, 7)
    return _pairs("STS-B", split, path, [(r[5], r[6], r[4]) for r in rows])


_SICK_SPLITS = {
    "train": "SICK_train.txt",
    "trial": "SICK_trial.txt",
    "test": "SICK_test_annotated.txt",
}


def load_sick(path: str | Path, split: str = "test") -> PairSet:
    """SICK relatedness (SICK-R) pairs from ``sick_r.tsv`` or the SemEval-2014 files."""
    path = Path(path)
    if path.is_dir():
        path = path / "sick_r.tsv" if (path / "sick_r.tsv").is_file() else path / _SICK_SPLITS.get(split, "")
    require_file(path, "SICK-R")
    if path.name == "sick_r.tsv":
        return _tsv_with_split(path, "SICK-R", split)
    # SemEval release: pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment
    rows = _read_rows(path, 4)[1:]
    return _pairs("SICK-R", split, path, [(r[1], r[2], r[3]) for r in rows])


def load_sts_folder(folder: str | Path) -> list[PairSet]:
    """Every ``*.input.<name>.txt`` / ``*.gs.<name>.txt`` pair in a folder (STS12-16)."""
    folder = Path(folder)
    inputs = sorted(folder.glob("*.input.*.txt"))
    if not inputs:
        raise EvalDataError(f"{folder}: no STS files (*.input.*.txt) found")
    sets = []
    for input_path in inputs:
        gold_path = input_path.with_name(input_path.name.replace(".input.", ".gs.", 1))
        require_file(gold_path, f"gold scores for {input_path.name}")
        sentences = input_path.read_text(encoding="utf-8", errors="replace").splitlines()
        gold = gold_path.read_text(encoding="utf-8").splitlines()
        if len(sentences) != len(gold):
            raise EvalDataError(f"{gold_path}: {len(gold)} lines but {input_path.name} has {len(sentences)}")
        rows = []
        for number, (line, score) in enumerate(zip(sentences, gold, strict=True), start=1):
            if not score.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                raise EvalDataError(f"{input_path}: line {number} is not two tab-separated sentences")
            rows.append((fields[0], fields[1], score.strip()))
        name = input_path.name.split(".input.", 1)[1].removesuffix(".txt")
        sets.append(_pairs(f"{folder.name}:{name}", "test", gold_path, rows))
    return sets


def load_sts(path: str | Path, split: str = "test") -> list[PairSet]:
    """Whatever STS data ``path`` holds: STS-B, SICK, an STS12-16 folder, or a
    parent folder of those (e.g. ``shared/data/sts``)."""
    path = Path(path)
    if not path.exists():
        raise EvalDataError(f"{path}: no such file or directory")
    name = path.name.lower()
    if path.is_file():
        return [load_sick(path, split) if "sick" in name else load_stsb(path, split)]
    if (path / "stsbenchmark.tsv").is_file() or (path / f"sts-{split}.csv").is_file():
        return [load_stsb(path, split)]
    if (path / "sick_r.tsv").is_file() or (path / "SICK_train.txt").is_file():
        return [load_sick(path, split)]
    if any(path.glob("*.input.*.txt")):
        return load_sts_folder(path)
    children = [c for c in sorted(path.iterdir()) if c.is_dir()]
    sets = [s for child in children for s in _load_optional(child, split)]
    if not sets:
        raise EvalDataError(f"{path}: holds no STS-B, SICK or STS12-16 data")
    return sets


def _load_optional(path: Path, split: str) -> list[PairSet]:
    try:
        return load_sts(path, split)
    except EvalDataError as exc:
        if "holds no" in str(exc):
            return []
        raise


def cosine_of_pairs(encoder, first: list[str], second: list[str]) -> np.ndarray:
    """Cosine similarity of each (first[i], second[i]) pair, shape (N,)."""
    a, b = encoder.encode(first), encoder.encode(second)
    return np.sum(a * b, axis=1)


def evaluate_sts(pairs: PairSet, encoder, perturb: float = 0.0, seed: int = 13) -> TaskResult:
    """Spearman/Pearson x100 of cosine vs gold on one pair set."""
    first, second = pairs.first, pairs.second
    config: dict = {"similarity": "cosine"}
    if perturb:
        rng = random.Random(seed)
        first = [with_typos(t, perturb, rng) for t in first]
        second = [with_typos(t, perturb, rng) for t in second]
        config.update(perturb_rate=perturb, perturb_seed=seed, perturb_edits="swap/drop/insert")
    metrics = correlations_x100(cosine_of_pairs(encoder, first, second), pairs.scores)
    return TaskResult(
        task="sts-typo" if perturb else "sts",
        dataset=pairs.name,
        split=pairs.split,
        method=encoder.name,
        metrics=metrics,
        primary=PRIMARY,
        counts={"pairs": len(pairs.scores)},
        config=config,
    )
