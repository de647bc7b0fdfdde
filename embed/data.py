"""Training texts, training pairs and the on-disk teacher-vector cache.

Everything comes from ``../shared/data/train`` (see its MANIFEST.md) and from the
installed Python source (standard library and site-packages: docstrings and
function bodies, for code). No evaluation data (BEIR, CodeSearchNet, STS, SentEval)
is ever trained on; the CodeSearchNet corpus is read only to *exclude* its
functions and repositories from the code pairs, and the SNLI dev/test copy under
``train/nli`` is skipped because SentEval ships SNLI.

The teacher cache is a folder of chunks ``<stream>-<k>.npy`` (float16, unit rows)
with ``<stream>-<k>.json`` (the texts, one JSON list) beside each, so a cache that
is still being written is already usable and nothing is pickled.
"""

from __future__ import annotations

import argparse
import ast
import functools
import gzip
import json
import logging
import os
import random
import re
import sysconfig
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
TRAIN_DIR = REPO.parent / "shared" / "data" / "train"
CACHE_DIR = REPO / "cache" / "teacher"
STDLIB_DIR = Path(sysconfig.get_paths()["stdlib"])
SITE_DIR = Path(sysconfig.get_paths()["purelib"])
# Read only to *exclude* code that CodeSearchNet scores on (see eval_code_fingerprints).
CSN_CORPUS = REPO.parent / "shared" / "data" / "codesearchnet" / "python" / "corpus.jsonl"
# A whole installed package kept out of training: docstring -> code retrieval over it
# is the code dev set (CodeSearchNet has no dev split of its own).
CODE_DEV_PACKAGES = frozenset({"networkx"})

# Pair files whose rows are positives (label is a group tag or "1"); NLI files
# are filtered to their entailment rows.
POSITIVE_PAIRS = [
    "rss_news_titles/pairs.tsv.gz",
    "stackexchange_title_body/pairs.tsv.gz",
    "stackexchange_qa/title_body.tsv.gz",
    "stackexchange_qa/question_answer.tsv.gz",
    "wikipedia_text/title_lead.tsv.gz",
    "wordnet_glosses/pairs.tsv.gz",
    "asset_simplification/pairs.tsv.gz",
    "wikisplit/pairs.tsv.gz",
    "wiki_conciseness/pairs.tsv.gz",
    "disfl_qa/pairs.tsv.gz",
    "flickr8k_captions/pairs.tsv.gz",
    "newsquizqa/question_pairs.tsv.gz",
]
NLI_PAIRS = [
    "mnli_dev/pairs.tsv.gz",
    "nli_new_protocols/pairs.tsv.gz",
    "nli_small_sets/pairs.tsv.gz",
    "rte123/pairs.tsv.gz",
    "xnli_en/pairs.tsv.gz",
]
PLAIN_TEXTS = [
    "wikipedia_text/wiki1m_head.txt.gz",
    "wordnet_glosses/examples.txt.gz",
    "nltk_corpora_text/brown.txt.gz",
    "nltk_corpora_text/webtext.txt.gz",
    "nltk_corpora_text/abc_news.txt.gz",
    "nltk_corpora_text/speeches.txt.gz",
]
PASSAGES = ["wikipedia_text/paragraphs.txt.gz"]

_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


@dataclass(frozen=True)
class Pair:
    anchor: str
    positive: str
    source: str
    negative: str | None = None  # a hard negative (an NLI contradiction of the anchor)


def _tsv_rows(path: Path) -> Iterator[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        next(fh)  # header: text_a, text_b, label
        for line in fh:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 3:
                yield fields


def _lines(path: Path) -> Iterator[str]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield line.strip()


def _code_key(code: str) -> int:
    """Whitespace-blind fingerprint of a function's source."""
    return zlib.crc32("".join(code.split()).encode("utf-8"))


@functools.lru_cache(maxsize=1)
def eval_code_fingerprints(corpus: Path = CSN_CORPUS) -> tuple[frozenset[int], frozenset[str]]:
    """Fingerprints of CodeSearchNet's functions and the names of their repositories,
    so no training pair can be (a copy of) a function the benchmark scores."""
    if not corpus.exists():
        return frozenset(), frozenset()
    keys, repos = set(), set()
    with corpus.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            keys.add(_code_key(row["text"]))
            repos.add(row["metadata"]["repo"].split("/")[-1].lower())
    return frozenset(keys), frozenset(repos)


def _package(path: Path, root: Path) -> str:
    """The top-level package (or module) name of a source file: ``pkg/x.py`` and ``pkg.py`` -> pkg."""
    return Path(path.relative_to(root).parts[0]).stem.lower()


def _python_files(root: Path) -> Iterator[Path]:
    """Source files under ``root``, without tests and without packages nested in it."""
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(p in ("test", "tests", "testing", "idlelib", "site-packages") for p in parts):
            continue
        yield path


def _functions(path: Path) -> Iterator[tuple[str, str, str]]:
    """(docstring summary, source, source without the docstring) of each documented function."""
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (SyntaxError, UnicodeDecodeError, ValueError, OSError, RecursionError):
        return
    lines = text.splitlines()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        doc = ast.get_docstring(node)
        if not doc or len(doc) < 20:
            continue
        # line slicing, not ast.get_source_segment (which rescans the file per call);
        # the docstring's lines are dropped so a pair cannot be matched by copying text
        doc_node = node.body[0]
        source = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        body = "\n".join(
            lines[node.lineno - 1 : doc_node.lineno - 1] + lines[doc_node.end_lineno : node.end_lineno]
        )
        summary = doc.strip().split("\n\n")[0].replace("\n", " ")
        if len(body.splitlines()) >= 3 and len(summary) >= 20:  # not a bare stub
            yield summary, source, body[:2000]


@functools.lru_cache(maxsize=4)
def code_pairs(
    root: Path = STDLIB_DIR, limit: int = 20_000, dev: bool = False, eval_corpus: Path = CSN_CORPUS
) -> list[Pair]:
    """(docstring summary, function source without the docstring) pairs from installed Python source.

    Packages named like a CodeSearchNet repository and functions whose source
    matches a CodeSearchNet function are skipped. ``dev=True`` returns only the
    held-out ``CODE_DEV_PACKAGES``; otherwise they are left out.
    """
    eval_keys, eval_repos = eval_code_fingerprints(eval_corpus)
    pairs: list[Pair] = []
    seen: set[int] = set()
    for path in _python_files(root):
        package = _package(path, root)
        if package in eval_repos or (package in CODE_DEV_PACKAGES) != dev:
            continue
        for summary, source, body in _functions(path):
            key = _code_key(body)
            if key in seen or key in eval_keys or _code_key(source) in eval_keys:
                continue
            seen.add(key)
            pairs.append(Pair(summary, body, "code"))
            if len(pairs) >= limit:
                return pairs
    return pairs


def installed_code_pairs() -> list[Pair]:
    """Code pairs from the standard library and every installed package."""
    return code_pairs(STDLIB_DIR) + code_pairs(SITE_DIR, limit=100_000)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def inverse_cloze_pairs(train_dir: Path = TRAIN_DIR, seed: int = 0, keep: float = 0.1) -> list[Pair]:
    """(one sentence, the rest of its paragraph) from Wikipedia paragraphs: the Inverse
    Cloze Task (Lee et al. 2019), self-supervised training for retrieving passages by a
    short statement. Like the paper, the sentence is left in its context ``keep`` of the time."""
    rng = random.Random(seed)
    pairs = []
    for paragraph in _lines(train_dir / PASSAGES[0]):
        sentences = _SENTENCE_END.split(paragraph)
        if len(sentences) < 3:
            continue
        i = rng.randrange(len(sentences))
        context = sentences if rng.random() < keep else sentences[:i] + sentences[i + 1 :]
        pairs.append(Pair(sentences[i], " ".join(context), "wikipedia_ict"))
    return pairs


def training_pairs(train_dir: Path = TRAIN_DIR) -> list[Pair]:
    """Every positive pair for contrastive training (NLI: entailments only)."""
    pairs = []
    for name in POSITIVE_PAIRS:
        pairs += [Pair(a, b, name.split("/")[0]) for a, b, _ in _tsv_rows(train_dir / name)]
    for name in NLI_PAIRS:
        pairs += nli_pairs(train_dir / name, name.split("/")[0])
    return pairs + inverse_cloze_pairs(train_dir) + installed_code_pairs()


def nli_pairs(path: Path, source: str) -> list[Pair]:
    """Entailment pairs of an NLI file; a premise that also has a contradiction gets
    it as the hard negative (as in supervised SimCSE), in a source of its own
    (``<source>+neg``) so a batch's pairs all have one or all lack one."""
    hypotheses: dict[str, dict[str, str]] = {}
    for premise, hypothesis, label in _tsv_rows(path):
        hypotheses.setdefault(premise, {}).setdefault(label, hypothesis)
    return [
        Pair(premise, by_label["entailment"], f"{source}+neg", by_label["contradiction"])
        if "contradiction" in by_label
        else Pair(premise, by_label["entailment"], source)
        for premise, by_label in hypotheses.items()
        if "entailment" in by_label
    ]


def sentence_texts(train_dir: Path = TRAIN_DIR, seed: int = 0) -> list[str]:
    """Short texts (sentences, titles, glosses, docstrings), shuffled, deduplicated."""
    texts: set[str] = set()
    for name in POSITIVE_PAIRS + NLI_PAIRS:
        for a, b, _ in _tsv_rows(train_dir / name):
            texts.update(t for t in (a, b) if len(t) <= 300)
    for name in PLAIN_TEXTS:
        texts.update(t for t in _lines(train_dir / name) if len(t) <= 300)
    texts.update(p.anchor for p in code_pairs())
    out = sorted(texts)
    random.Random(seed).shuffle(out)
    return out


def passage_texts(train_dir: Path = TRAIN_DIR, seed: int = 0) -> list[str]:
    """Long texts (Wikipedia paragraphs, StackExchange bodies, code), shuffled."""
    texts = list(_lines(train_dir / PASSAGES[0]))
    texts += [b for _, b, _ in _tsv_rows(train_dir / "stackexchange_title_body/pairs.tsv.gz")]
    texts += [p.positive for p in code_pairs()]
    texts = sorted(set(texts))
    random.Random(seed).shuffle(texts)
    return texts


def vocabulary(train_dir: Path = TRAIN_DIR, size: int = 100_000) -> list[str]:
    """The most frequent lower-cased words of the training text (model2vec-style)."""
    counts: Counter[str] = Counter()
    for text in sentence_texts(train_dir)[:400_000]:
        counts.update(_WORD.findall(text.lower()))
    for i, text in enumerate(_lines(train_dir / PASSAGES[0])):
        counts.update(_WORD.findall(text.lower()))
        if i >= 60_000:
            break
    return [w for w, c in counts.most_common(size) if c >= 2]


def mixed_texts(seed: int = 0, passage_every: int = 6) -> list[str]:
    """Sentences with one passage after every ``passage_every`` of them."""
    sentences, passages = sentence_texts(seed=seed), passage_texts(seed=seed)
    out: list[str] = []
    for i, text in enumerate(sentences):
        out.append(text)
        if i % passage_every == 0 and i // passage_every < len(passages):
            out.append(passages[i // passage_every])
    return out


def _clip(text: str, max_chars: int) -> str:
    """``text`` cut at the last space or line break before ``max_chars``."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    return cut[: max(cut.rfind(" "), cut.rfind("\n"), max_chars // 2)]


def long_texts(exclude: set[str], seed: int = 1, max_chars: int = 700) -> list[str]:
    """The second teacher stream: installed-package code and prose passages not in
    ``exclude`` (the first stream), alternating, clipped to about what training
    keeps (128 units) so the teacher and the student see the same text."""
    code = [_clip(p.positive, max_chars) for p in code_pairs(SITE_DIR, limit=100_000)]
    prose = [_clip(t, max_chars) for t in passage_texts(seed=seed) if t not in exclude]
    rng = random.Random(seed)
    rng.shuffle(code)
    out = [t for pair in zip(code, prose, strict=False) for t in pair]
    return out + code[len(prose) :] + prose[len(code) :]


# ---- teacher cache -------------------------------------------------------


def load_cache(stream: str, cache_dir: Path = CACHE_DIR) -> tuple[list[str], np.ndarray]:
    """All finished chunks of one stream: texts and (N, 384) float32 teacher vectors."""
    texts: list[str] = []
    arrays = []
    for npy in sorted(cache_dir.glob(f"{stream}-*.npy")):
        names = npy.with_suffix(".json")
        if not names.exists():
            continue
        chunk = json.loads(names.read_text(encoding="utf-8"))
        vecs = np.load(npy, allow_pickle=False)
        if len(chunk) != len(vecs):
            continue
        texts += chunk
        arrays.append(vecs.astype(np.float32))
    if not arrays:
        return [], np.zeros((0, 384), dtype=np.float32)
    return texts, np.concatenate(arrays)


def fill_cache(
    stream: str,
    texts: list[str],
    chunk: int = 4096,
    max_seq_length: int = 256,
    cache_dir: Path = CACHE_DIR,
) -> None:
    """Encode ``texts`` with the teacher in chunks, skipping chunks already on disk."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    from kb.encoders import minilm_path

    cache_dir.mkdir(parents=True, exist_ok=True)
    teacher = SentenceTransformer(str(minilm_path()), device="cpu")
    teacher.max_seq_length = max_seq_length
    for k, start in enumerate(range(0, len(texts), chunk)):
        npy = cache_dir / f"{stream}-{k:04d}.npy"
        if npy.with_suffix(".json").exists():
            continue
        batch = texts[start : start + chunk]
        t0 = time.time()
        vecs = teacher.encode(batch, batch_size=64, normalize_embeddings=True)
        np.save(npy, vecs.astype(np.float16), allow_pickle=False)
        npy.with_suffix(".json").write_text(json.dumps(batch, ensure_ascii=False), "utf-8")
        log.info("%s chunk %d: %d texts in %.0f s", stream, k, len(batch), time.time() - t0)


def main() -> None:
    """``python -m embed.data`` fills the cache, one stream after another: single
    words (cheap), mixed sentences and passages, then code and passages clipped
    to the training window."""
    import torch

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--streams", default="words,texts,long", help="comma-separated, in order")
    parser.add_argument(
        "--seed", type=int, default=0, help="order of the mixed texts: a new seed caches other texts first"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    streams = {
        "words": lambda: fill_cache("words", vocabulary(size=args.words), chunk=16384, max_seq_length=16),
        "texts": lambda: fill_cache("texts", mixed_texts(seed=args.seed), chunk=4096, max_seq_length=256),
        "long": lambda: fill_cache("long", long_texts(set(load_cache("texts")[0])), chunk=1024),
    }
    for name in args.streams.split(","):
        streams[name]()


if __name__ == "__main__":
    main()
