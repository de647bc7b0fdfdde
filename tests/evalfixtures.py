"""Tiny hand-made BEIR / STS / SentEval folders for the eval tests (no shared data needed)."""

from __future__ import annotations

import json
from pathlib import Path

DOCS = {
    "d1": ("Cats", "cats purr and sleep on warm windows"),
    "d2": ("Rockets", "rockets burn fuel to reach orbit"),
    "d3": ("Bread", "bread rises when yeast ferments dough"),
    "d4": ("Rivers", "rivers carry water and silt to the sea"),
}
QUERIES = {
    "q1": "why do cats purr",
    "q2": "how rockets reach orbit",
    "t1": "yeast makes bread rise",
    "t2": "where rivers carry silt",
}


def write_beir(root: Path, test=("q1\td1\t1", "q2\td2\t1"), train=("t1\td3\t1", "t2\td4\t1")) -> Path:
    (root / "qrels").mkdir(parents=True)
    with open(root / "corpus.jsonl", "w") as handle:
        for doc_id, (title, text) in DOCS.items():
            handle.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with open(root / "queries.jsonl", "w") as handle:
        for qid, text in QUERIES.items():
            handle.write(json.dumps({"_id": qid, "text": text}) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(test) + "\n")
    if train:
        (root / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(train) + "\n")
    return root


def write_sts(folder: Path, n: int = 30) -> Path:
    folder.mkdir(parents=True)
    rows = ["sentence1\tsentence2\tscore\tsplit"]
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    for i in range(n):
        shared = i % len(words) + 1  # more shared words, higher score
        rows.append(f"{' '.join(words)}\t{' '.join(words[:shared])} x{i} y{i}\t{shared / 2:.1f}\ttest")
    (folder / "stsbenchmark.tsv").write_text("\n".join(rows) + "\n")
    return folder


def write_senteval(root: Path) -> Path:
    (root / "MR").mkdir(parents=True)
    rows = ["text\tlabel\tsplit"]
    for i in range(40):
        rows.append(f"{'good great fine' if i % 2 else 'bad awful poor'} film number {i}\t{i % 2}\tall")
    (root / "MR" / "mr.tsv").write_text("\n".join(rows) + "\n")
    (root / "MRPC").mkdir()
    pairs = ["sentence1\tsentence2\tlabel\tsplit"]
    for i in range(40):
        second = f"cats sleep {i}" if i % 2 else f"stocks fell {i * 7}"
        pairs.append(f"cats sleep {i}\t{second}\t{i % 2}\t{'train' if i < 30 else 'test'}")
    (root / "MRPC" / "mrpc.tsv").write_text("\n".join(pairs) + "\n")
    return root
