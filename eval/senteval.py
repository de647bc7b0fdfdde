"""SentEval-style transfer: logistic regression on frozen sentence embeddings.

Tasks and protocol (Conneau & Kiela, 2018):
- MR, CR, SUBJ, MPQA: 10-fold stratified cross-validation, accuracy x100;
- SST-2: train on train, L2 strength chosen on dev, accuracy on test;
- TREC (6 coarse classes) and MRPC: train/test; the L2 strength is chosen on a
  seeded 10% of train. MRPC pairs use SentEval's features [u, v, |u - v|, u * v]
  and also report F1 of the paraphrase class.

SentEval picks the L2 strength by an inner 10-fold CV; to fit two shared CPU
cores we pick it on one held-out 10% of each training part (the grid is in
every row's config). ``cap`` (``--quick``) samples at most that many examples
of each CV set and of each train split, seeded; test splits stay whole.

Data: the ``<task>.tsv`` conversions in shared/data/senteval/<TASK>/
(text, label, split; MRPC sentence1, sentence2, label, split; SST-2 gzipped).
"""

from __future__ import annotations

import csv
import gzip
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eval.common import EvalDataError, TaskResult, require_file

log = logging.getLogger(__name__)

CV_TASKS = ("MR", "CR", "SUBJ", "MPQA")
SPLIT_TASKS = ("SST2", "TREC", "MRPC")
ALL_TASKS = CV_TASKS + SPLIT_TASKS
PRIMARY = "accuracy"


@dataclass(frozen=True)
class SentEvalConfig:
    folds: int = 10
    c_grid: tuple[float, ...] = (0.25, 1.0, 4.0, 16.0)
    cap: int | None = None
    seed: int = 1234
    max_iter: int = 1000


@dataclass
class LabelledSet:
    """Texts (or MRPC pairs) with labels, grouped by split name."""

    task: str
    texts: dict[str, list] = field(default_factory=dict)  # split -> str or (str, str)
    labels: dict[str, np.ndarray] = field(default_factory=dict)


def _task_file(folder: Path, task: str) -> Path:
    stem = folder / task / task.lower()
    for candidate in (stem.with_suffix(".tsv"), stem.with_suffix(".tsv.gz")):
        if candidate.is_file():
            return candidate
    return require_file(stem.with_suffix(".tsv"), f"SentEval {task}")


def load_task(folder: str | Path, task: str) -> LabelledSet:
    """One task from a SentEval folder (``<folder>/<TASK>/<task>.tsv[.gz]``)."""
    if task not in ALL_TASKS:
        raise EvalDataError(f"unknown SentEval task {task!r}: choose from {', '.join(ALL_TASKS)}")
    path = _task_file(Path(folder), task)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    width = 4 if task == "MRPC" else 3
    data = LabelledSet(task)
    grouped: dict[str, tuple[list, list]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise EvalDataError(f"{path}: line {number} has {len(row)} fields, expected {width}")
        text = (row[0], row[1]) if task == "MRPC" else row[0]
        texts, labels = grouped.setdefault(row[-1], ([], []))
        texts.append(text)
        labels.append(row[-2])
    if not grouped:
        raise EvalDataError(f"{path}: no examples")
    for split, (texts, labels) in grouped.items():
        data.texts[split] = texts
        data.labels[split] = np.array(labels)
    expected = {"all"} if task in CV_TASKS else {"train", "test"}
    if not expected <= set(grouped):
        raise EvalDataError(f"{path}: needs split(s) {sorted(expected)}, found {sorted(grouped)}")
    return data


def _capped(texts: list, labels: np.ndarray, cap: int | None, seed: int):
    if cap is None or len(texts) <= cap:
        return texts, labels
    keep = np.sort(np.random.default_rng(seed).choice(len(texts), cap, replace=False))
    return [texts[i] for i in keep], labels[keep]


def _features(encoder, texts: list) -> np.ndarray:
    if texts and isinstance(texts[0], tuple):
        u = encoder.encode([a for a, _ in texts])
        v = encoder.encode([b for _, b in texts])
        return np.hstack([u, v, np.abs(u - v), u * v])
    return encoder.encode(texts)


def _fit(x: np.ndarray, y: np.ndarray, c: float, config: SentEvalConfig):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=config.max_iter).fit(x, y)


def _best_c(x: np.ndarray, y: np.ndarray, config: SentEvalConfig, dev=None) -> float:
    """The grid C with the best accuracy on ``dev`` (or a seeded 10% of x)."""
    if dev is None:
        from sklearn.model_selection import train_test_split

        x, x_dev, y, y_dev = train_test_split(x, y, test_size=0.1, random_state=config.seed, stratify=y)
    else:
        x_dev, y_dev = dev
    scores = {c: _fit(x, y, c, config).score(x_dev, y_dev) for c in config.c_grid}
    return max(config.c_grid, key=lambda c: (scores[c], -c))


def _cross_validated(x: np.ndarray, y: np.ndarray, config: SentEvalConfig) -> dict[str, float]:
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(config.folds, shuffle=True, random_state=config.seed)
    accuracies = []
    for train, test in folds.split(x, y):
        c = _best_c(x[train], y[train], config)
        accuracies.append(_fit(x[train], y[train], c, config).score(x[test], y[test]))
    return {
        "accuracy": float(np.mean(accuracies) * 100),
        "accuracy_std": float(np.std(accuracies) * 100),
    }


def evaluate_senteval(data: LabelledSet, encoder, config: SentEvalConfig = SentEvalConfig()) -> TaskResult:
    """Accuracy x100 (and MRPC F1) of logistic regression on frozen embeddings."""
    cfg = {
        "classifier": "sklearn LogisticRegression (lbfgs, L2)",
        "c_grid": list(config.c_grid),
        "cap": config.cap,
        "seed": config.seed,
    }
    if data.task in CV_TASKS:
        texts, y = _capped(data.texts["all"], data.labels["all"], config.cap, config.seed)
        metrics = _cross_validated(_features(encoder, texts), y, config)
        cfg["protocol"] = f"{config.folds}-fold CV, C on 10% of each training part"
        return TaskResult(
            "senteval",
            data.task,
            "all",
            encoder.name,
            metrics,
            PRIMARY,
            counts={"examples": len(texts)},
            config=cfg,
        )
    train_texts, y_train = _capped(data.texts["train"], data.labels["train"], config.cap, config.seed)
    x_train = _features(encoder, train_texts)
    x_test, y_test = _features(encoder, data.texts["test"]), data.labels["test"]
    dev = None
    if "dev" in data.texts:
        dev = (_features(encoder, data.texts["dev"]), data.labels["dev"])
    c = _best_c(x_train, y_train, config, dev)
    model = _fit(x_train, y_train, c, config)
    predicted = model.predict(x_test)
    metrics = {"accuracy": float(np.mean(predicted == y_test) * 100)}
    if data.task == "MRPC":
        from sklearn.metrics import f1_score

        metrics["f1"] = float(f1_score(y_test, predicted, pos_label="1") * 100)
    cfg.update(protocol="train/test, C chosen on " + ("dev" if dev else "10% of train"), c=c)
    counts = {"train": len(train_texts), "test": len(y_test)} | ({"dev": len(dev[1])} if dev else {})
    return TaskResult(
        "senteval", data.task, "test", encoder.name, metrics, PRIMARY, counts=counts, config=cfg
    )
