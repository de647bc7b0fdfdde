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
- **Spelling in context.** One edit from a misspelt word there are often
  several known words, and a typo can make another known word ("hard" ->
  "had") or a short word ("the" -> "teh", seen in a few training texts). With
  ``EncoderConfig.spelling_context_share``, a text in which at least that share
  of the words are unknown (typo-heavy: clean English, scientific abstracts
  included, almost never is) is read word by word as a noisy channel: each word
  becomes whichever of itself and its known one-edit neighbours (for an
  unknown word with none: the common words two edits away) is likeliest
  between the word before it (as corrected) and the word after it, under a
  bigram model of the training text (pair counts kept in the lexicon file),
  with a misspelling costing a factor of 1,000. Other texts get the word-alone
  correction above, so clean text is read as before.

The file is ``lexicon.tsv.gz`` in a checkpoint directory: a header line
``#texts<TAB><n texts><TAB><min count>``, then ``unit<TAB>count`` lines, most
frequent first; optionally a line ``#pairs<TAB><min pair count>`` and then one
line per unit, ``unit<TAB>next<TAB>count<TAB>next<TAB>count...``: in how many
texts each unit is directly followed by each other unit. The pairs are read
only when a text first needs them. It is
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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

FILE = "lexicon.tsv.gz"
_HEADER = "#texts"
_PAIRS_HEADER = "#pairs"
_LETTERS = string.ascii_lowercase
_MIN_SPELL_CHARS = 4  # shorter words have too many neighbours one edit away
_MIN_SPLIT_COUNT = 100  # both halves of a run-together pair must be this common
_COMMON_COUNT = 50  # a "common English word" for the language check
_MIN_COMMON_SHARE = 0.5  # share of a text's words that must be common for it to be corrected
# ... or this lower share when function words (the lexicon's most frequent words: the,
# of, a, in ...) make up enough of it: typos leave short function words readable
_MIN_COMMON_SHARE_WITH_FUNCTION_WORDS = 0.35
_N_FUNCTION_WORDS = 30
# Spelling in context (chosen on STS-B dev with typos, against clean STS-B dev, SICK train
# and SciFact train): how much less likely a word is typed one edit off than as itself,
# and how much of the word-after-word probability is the pair's (the rest: the word's own).
_EDIT_LOG_PROB = math.log(1e-3)
_PAIR_WEIGHT = 0.8
# An unknown word with no known word one edit away is read in context as a common word two
# edits away (10% typos leave two in many long words), found through an index of the
# common words' one- and two-letter deletions (SymSpell's idea): 600k keys, ~2 s to build.
_TWO_EDIT_MIN_CHARS = 5


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


class _PairsInFile(Mapping):
    """A lexicon file's pair counts, read on first use: most texts never need them, and
    reading a million pairs would slow every encoder load by seconds."""

    def __init__(self, path: Path):
        self._path = path
        self._pairs: dict[str, dict[str, int]] | None = None

    def _loaded(self) -> dict[str, dict[str, int]]:
        if self._pairs is None:
            self._pairs = _read_pairs(self._path)
        return self._pairs

    def __getitem__(self, unit: str) -> dict[str, int]:
        return self._loaded()[unit]

    def get(self, unit: str, default=None):  # Mapping's get goes through a KeyError per miss
        return self._loaded().get(unit, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def __bool__(self) -> bool:
        return True  # the file has a pairs section; no need to read it to say so


def deletions(word: str, depth: int = 2) -> set[str]:
    """``word`` and every string made from it by dropping up to ``depth`` letters."""
    out = frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out = out | frontier
    return out


def edit_distance(a: str, b: str) -> int:
    """Drops, insertions, substitutions and neighbour swaps turning ``a`` into ``b``
    (optimal string alignment: each letter is edited once)."""
    before, row = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        before, row = row, current
    return row[-1]


@dataclass(frozen=True)
class Lexicon:
    counts: dict[str, int]  # unit -> number of training texts it occurs in
    n_texts: int
    min_count: int = 2  # a unit seen in fewer texts counts as unknown
    # unit -> {unit directly after it: number of training texts}; needed by in_context()
    followers: Mapping[str, dict[str, int]] = field(default_factory=dict, compare=False)

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

    def unknown_share(self, units: list[str]) -> float:
        """The share of the alphabetic ``units`` the lexicon does not know (0 without words)."""
        words = [u for u in units if u.isalpha()]
        return sum(not self.knows(u) for u in words) / len(words) if words else 0.0

    def neighbours(self, unit: str) -> list[str]:
        """The known words one edit from an alphabetic ``unit``; for an unknown unit with
        none, the common words two edits away. Sorted, so ties never depend on set order."""
        if len(unit) < 2 or not unit.isalpha():
            return []
        near = sorted(w for w in edits1(unit) if self.knows(w))
        if near or self.knows(unit) or len(unit) < _TWO_EDIT_MIN_CHARS:
            return near
        found = {w for d in deletions(unit) for w in self._common_by_deletion.get(d, ())}
        return sorted(w for w in found if edit_distance(unit, w) == 2)

    @cached_property
    def _common_by_deletion(self) -> dict[str, list[str]]:
        """Every common word under each of its deletions: two words within two edits of
        each other share a deletion (an insertion is the other word's deletion)."""
        index: dict[str, list[str]] = {}
        for word, count in self.counts.items():
            if count >= _COMMON_COUNT and word.isalpha() and len(word) >= _TWO_EDIT_MIN_CHARS - 2:
                for d in deletions(word):
                    index.setdefault(d, []).append(word)
        return index

    @cached_property
    def _total(self) -> int:
        return sum(self.counts.values())

    def _log_prob(self, unit: str, before: str) -> float:
        """log P(unit | the unit before it): the pair's share of ``before``'s texts mixed
        with ``unit``'s own frequency (which alone decides after an unknown unit)."""
        p = (self.counts.get(unit, 0) + 0.1) / self._total
        seen = self.counts.get(before, 0)
        if seen:
            p = _PAIR_WEIGHT * self.followers.get(before, {}).get(unit, 0) / seen + (1 - _PAIR_WEIGHT) * p
        return math.log(p)

    def _fit(self, word: str, before: str, after: str | None) -> float:
        """log P(word | before) + log P(after | word); ``before`` "" at the start."""
        return self._log_prob(word, before) + (self._log_prob(after, word) if after else 0.0)

    def in_context(
        self,
        units: list[str],
        neighbours: Callable[[str], list[str]] | None = None,
        spelling: Callable[[str], list[str]] | None = None,
    ) -> list[str]:
        """``units`` of a typo-heavy text, each word read as itself or the neighbour
        (:meth:`neighbours`: a known word one edit away, or two for an unknown word)
        that best fits between the word before (as read) and the word after; an unknown
        word that none fits better gets :meth:`spelling`. ``neighbours`` and
        ``spelling`` let a caller cache both per unit."""
        neighbours = neighbours or self.neighbours
        spelling = spelling or self.spelling
        out: list[str] = []
        for i, unit in enumerate(units):
            if not unit.isalpha():
                out.append(unit)
                continue
            before = out[-1] if out else ""
            after = units[i + 1] if i + 1 < len(units) else None
            best, best_fit = unit, self._fit(unit, before, after)
            for word in neighbours(unit):
                fit = _EDIT_LOG_PROB + self._fit(word, before, after)
                if fit > best_fit:
                    best, best_fit = word, fit
            out.extend(spelling(unit) if best == unit else [best])
        return out

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


def build(
    texts: Iterable[str], units: Callable[[str], list[str]], min_count: int = 2, min_pair_count: int = 0
) -> Lexicon:
    """Document frequencies of the units of ``texts`` and (with ``min_pair_count``) of
    their adjacent pairs; units and pairs rarer than the minimum are dropped."""
    counts: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    n = 0
    for text in texts:
        seq = units(text)
        counts.update(set(seq))
        if min_pair_count:
            pairs.update(set(zip(seq, seq[1:], strict=False)))
        n += 1
    kept = {u: c for u, c in counts.most_common() if c >= min_count}
    followers: dict[str, dict[str, int]] = {}
    for (a, b), c in sorted(pairs.items()):
        if c >= min_pair_count:
            followers.setdefault(a, {})[b] = c
    return Lexicon(kept, n, min_count, followers)


def write(lexicon: Lexicon, path: str | Path) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    lines = [f"{_HEADER}\t{lexicon.n_texts}\t{lexicon.min_count}"]
    lines += [f"{u}\t{c}" for u, c in lexicon.counts.items()]
    if lexicon.followers:
        lines.append(f"{_PAIRS_HEADER}\t{min(c for f in lexicon.followers.values() for c in f.values())}")
        for unit in sorted(lexicon.followers):
            after = sorted(lexicon.followers[unit].items())
            lines.append("\t".join([unit, *(f"{b}\t{c}" for b, c in after)]))
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
            counts, followers = {}, {}
            for line in fh:
                if line.startswith(_PAIRS_HEADER + "\t"):
                    followers = _PairsInFile(Path(path))
                    break
                unit, _, count = line.rstrip("\n").rpartition("\t")
                counts[unit] = int(count)
    except (OSError, ValueError, EOFError) as err:
        raise LexiconError(f"{path}: unreadable lexicon ({err})") from err
    return Lexicon(counts, int(header[1]), int(header[2]), followers)


def _read_pairs(path: Path) -> dict[str, dict[str, int]]:
    """The pairs section of a lexicon file (which :func:`read` has already checked)."""
    followers = {}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(_PAIRS_HEADER + "\t"):
                    break
            for line in fh:
                unit, *rest = line.rstrip("\n").split("\t")
                followers[unit] = {rest[i]: int(rest[i + 1]) for i in range(0, len(rest), 2)}
    except (OSError, ValueError, EOFError, IndexError) as err:
        raise LexiconError(f"{path}: unreadable pairs section ({err})") from err
    return followers


def main() -> None:
    from embed import data
    from embed.model import EncoderConfig, Featurizer

    parser = argparse.ArgumentParser(prog="python -m embed.lexicon", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="file to write (e.g. runs/lexicon.tsv.gz)")
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument(
        "--min-pair-count", type=int, default=3, help="keep pairs seen in this many texts (0: no pairs)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    featurizer = Featurizer(EncoderConfig())
    texts = data.sentence_texts() + data.passage_texts()
    lexicon = build(texts, featurizer.units, args.min_count, args.min_pair_count)
    write(lexicon, args.out)
    n_pairs = sum(len(f) for f in lexicon.followers.values())
    print(f"{args.out}: {len(lexicon.counts)} units and {n_pairs} pairs from {lexicon.n_texts} texts")


if __name__ == "__main__":
    main()
