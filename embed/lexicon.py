"""The lexicon: how many training texts each unit occurs in.

Two uses, both switched on in a checkpoint's config (``EncoderConfig.idf_power``,
``EncoderConfig.spelling``) and both off for checkpoints saved without a lexicon:

- **idf weights.** A unit's vector is scaled by ``idf(unit) ** idf_power``
  before pooling, so rare words (the ones a claim and its abstract share) count
  for more than "the" and "of": the weighting BM25 owes its strength to, and
  what the teacher's mean pooling cannot teach a static table.
- **Spelling.** A word the lexicon does not know that is one edit (drop,
  insertion, swap of neighbours, substitution) away from a word it knows is
  read as the most frequent such word (Norvig's corrector); an unknown word
  that is two known words run together is cut in two. Names and terms the
  lexicon lacks and that are not one edit from a known word stay as they are.
  The lexicon is English, so a text is only corrected when at least half of its
  words are common English words: otherwise a Dutch or German sentence would
  have a third of its words "corrected" into English ones (measured on the
  real feed snapshots; with the check, 72% of foreign-language titles and
  summaries are left alone while 91% of STS-B dev sentences with 10% typos are
  still corrected). With ``EncoderConfig.spelling_function_share`` a text with
  35% common words also passes when enough of them are function words (the, of,
  a ...), which typos mostly spare: 96% of those typo'd sentences, 29% of the
  foreign-language texts.

The file is ``lexicon.tsv.gz`` in a checkpoint directory: a header line
``#texts<TAB><n texts><TAB><min count>``, then ``unit<TAB>count`` lines, most
frequent first. It is
built from the training text only (``python -m embed.lexicon``), never from an
evaluation set.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import math
import string
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

FILE = "lexicon.tsv.gz"
_HEADER = "#texts"
_LETTERS = string.ascii_lowercase
_MIN_SPELL_CHARS = 4  # shorter words have too many neighbours one edit away
_MIN_SPLIT_COUNT = 100  # both halves of a run-together pair must be this common
_COMMON_COUNT = 50  # a "common English word" for the language check
_MIN_COMMON_SHARE = 0.5  # share of a text's words that must be common for it to be corrected
# ... or this lower share when function words (the lexicon's most frequent words: the,
# of, a, in ...) make up enough of it: typos leave short function words readable
_MIN_COMMON_SHARE_WITH_FUNCTION_WORDS = 0.35
_N_FUNCTION_WORDS = 30


class LexiconError(Exception):
    """A lexicon file that cannot be read."""


def edits1(word: str) -> set[str]:
    """Every string one drop, neighbour swap, substitution or insertion away from ``word``."""
    cuts = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    drops = {a + b[1:] for a, b in cuts if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in cuts if len(b) > 1}
    subs = {a + c + b[1:] for a, b in cuts if b for c in _LETTERS}
    inserts = {a + c + b for a, b in cuts for c in _LETTERS}
    return (drops | swaps | subs | inserts) - {word}


@dataclass(frozen=True)
class Lexicon:
    counts: dict[str, int]  # unit -> number of training texts it occurs in
    n_texts: int
    min_count: int = 2  # a unit seen in fewer texts counts as unknown

    def knows(self, unit: str) -> bool:
        return self.counts.get(unit, 0) >= self.min_count

    def idf(self, unit: str) -> float:
        return math.log((self.n_texts + 1) / (self.counts.get(unit, 0) + 1))

    @cached_property
    def function_words(self) -> frozenset[str]:
        """The most frequent words of the training text (the, of, a, in, to, and ...)."""
        words = sorted((u for u in self.counts if u.isalpha()), key=lambda u: (-self.counts[u], u))
        return frozenset(words[:_N_FUNCTION_WORDS])

    def reads_as_english(self, units: list[str], function_share: float = 0.0) -> bool:
        """True when at least half of the alphabetic ``units`` are common words of the
        lexicon, or (with ``function_share`` > 0) at least 35% are and at least
        ``function_share`` of them are its function words."""
        words = [u for u in units if u.isalpha()]
        if not words:
            return False
        common = sum(self.counts.get(u, 0) >= _COMMON_COUNT for u in words) / len(words)
        if common >= _MIN_COMMON_SHARE:
            return True
        if not function_share or common < _MIN_COMMON_SHARE_WITH_FUNCTION_WORDS:
            return False
        return sum(u in self.function_words for u in words) >= function_share * len(words)

    def spelling(self, unit: str) -> list[str]:
        """``unit`` read as the word(s) it most likely misspells (itself if known or no guess)."""
        if len(unit) < _MIN_SPELL_CHARS or not unit.isalpha() or self.knows(unit):
            return [unit]
        # ties broken alphabetically, so the answer does not depend on set order
        near = [w for w in edits1(unit) if self.knows(w)]
        if near:
            return [max(near, key=lambda w: (self.counts[w], w))]
        halves = [
            (min(self.counts[unit[:i]], self.counts[unit[i:]]), unit[:i], unit[i:])
            for i in range(2, len(unit) - 1)
            if self.counts.get(unit[:i], 0) >= _MIN_SPLIT_COUNT
            and self.counts.get(unit[i:], 0) >= _MIN_SPLIT_COUNT
        ]
        return list(max(halves)[1:]) if halves else [unit]


def build(texts: Iterable[str], units: Callable[[str], list[str]], min_count: int = 2) -> Lexicon:
    """Document frequencies of the units of ``texts``; units rarer than ``min_count`` are dropped."""
    counts: Counter[str] = Counter()
    n = 0
    for text in texts:
        counts.update(set(units(text)))
        n += 1
    kept = {u: c for u, c in counts.most_common() if c >= min_count}
    return Lexicon(kept, n, min_count)


def write(lexicon: Lexicon, path: str | Path) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    lines = [f"{_HEADER}\t{lexicon.n_texts}\t{lexicon.min_count}"]
    lines += [f"{u}\t{c}" for u, c in lexicon.counts.items()]
    # no name, mtime 0: the same lexicon gives the same bytes, so the encoder's name is stable
    with tmp.open("wb") as fh, gzip.GzipFile(filename="", fileobj=fh, mode="wb", mtime=0) as raw:
        raw.write(("\n".join(lines) + "\n").encode("utf-8"))
    tmp.replace(path)
    return path


def read(path: str | Path) -> Lexicon:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            header = fh.readline().rstrip("\n").split("\t")
            if header[0] != _HEADER or len(header) != 3:
                raise LexiconError(f"{path}: not a lexicon file (first line {header[0]!r})")
            counts = {}
            for line in fh:
                unit, _, count = line.rstrip("\n").rpartition("\t")
                counts[unit] = int(count)
    except (OSError, ValueError, EOFError) as err:
        raise LexiconError(f"{path}: unreadable lexicon ({err})") from err
    return Lexicon(counts, int(header[1]), int(header[2]))


def main() -> None:
    from embed import data
    from embed.model import EncoderConfig, Featurizer

    parser = argparse.ArgumentParser(prog="python -m embed.lexicon", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="file to write (e.g. runs/lexicon.tsv.gz)")
    parser.add_argument("--min-count", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    featurizer = Featurizer(EncoderConfig())
    texts = data.sentence_texts() + data.passage_texts()
    lexicon = build(texts, featurizer.units, args.min_count)
    write(lexicon, args.out)
    print(f"{args.out}: {len(lexicon.counts)} units from {lexicon.n_texts} texts")


if __name__ == "__main__":
    main()
