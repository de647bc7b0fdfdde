"""An article's topics: its key phrases, and the running topic (story) it belongs to.

Key phrases follow RAKE (Rose et al., 2010, "Automatic keyword extraction from individual
documents"): candidates are runs of words between stopwords and punctuation, a word scores
degree/frequency, a phrase the sum of its words. Two YAKE-like touches (Campos et al., 2020):
phrases seen early score higher, and capitalised multi-word names (outside sentence starts)
are boosted, since the story's main entity is what a reader searches for. Languages with no
stopword list here (Kannada) or no spaces (Chinese) fall back to frequent word n-grams and
frequent character n-grams respectively.

Running topics are centroids compared by cosine. The store keeps each topic's sum of member
vectors (its direction is the exact mean's; re-normalising after every update would drift
toward the latest members); ``assign_topic`` normalises on the fly.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict

import numpy as np

from ingest.facts import is_boilerplate
from kb.words import CJK_STOPWORDS, STOPWORDS, WORD, is_cjk

log = logging.getLogger(__name__)

_MAX_PHRASE_WORDS = 4
# Multi-word phrases are more telling than single words, up to a point (by phrase length).
_LENGTH_WEIGHT = {1: 1.0, 2: 1.4, 3: 1.5, 4: 1.5}
_LOWER_SINGLE_WEIGHT = 0.6  # a lone lower-case word ("million", "range") is rarely the topic
_NAME_BOOST = 1.5  # capitalised multi-word names outside sentence starts
_EARLY_DECAY = 30.0  # position weight 1 + 1 / (1 + decay * relative position)
_CLAUSE_BREAK = re.compile(r"([.!?;:,()\[\]{}\"“”«»„|/–—…。！？；：，、（）「」『』\n]+|\s-\s)")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]{2,}")


def _candidates(text: str) -> list[tuple[tuple[str, ...], bool, int]]:
    """(words, capitalised-not-sentence-initial, clause index) of every candidate phrase."""
    found: list[tuple[tuple[str, ...], bool, int]] = []
    pieces = _CLAUSE_BREAK.split(text)  # the pattern captures: clause, delimiter, clause, ...
    sentence_start = True
    for clause_index, clause in enumerate(pieces[::2]):
        tokens = WORD.findall(clause)
        # Headline Case or ALL CAPS clauses capitalise every word: no name evidence there.
        headline = len(tokens) >= 4 and sum(t[0].isupper() for t in tokens) > 0.6 * len(tokens)
        run: list[str] = []
        capitalised = True
        for token in tokens:
            if token.casefold() in STOPWORDS or is_cjk(token) or len(token) < 2:
                _flush(run, capitalised, clause_index, found)
                run, capitalised = [], True
            else:
                # A capital at a sentence start says nothing about being a name.
                capitalised &= token[0].isupper() and not headline
                capitalised &= not (sentence_start and not run)
                run.append(token)
            sentence_start = False
        _flush(run, capitalised, clause_index, found)
        delimiter = pieces[2 * clause_index + 1] if 2 * clause_index + 1 < len(pieces) else ""
        sentence_start = bool(re.search(r"[.!?。！？\n]", delimiter))
    return found


def _flush(
    run: list[str], capitalised: bool, index: int, out: list[tuple[tuple[str, ...], bool, int]]
) -> None:
    if not run:
        return
    if len(run) <= _MAX_PHRASE_WORDS:
        out.append((tuple(run), capitalised and len(run) > 1, index))
        return
    # No stopwords split this run (a language without a list here): use its 1..3-grams.
    for size in (1, 2, 3):
        for start in range(len(run) - size + 1):
            out.append((tuple(run[start : start + size]), False, index))


def _latin_phrases(text: str) -> dict[str, float]:
    candidates = _candidates(text)
    if not candidates:
        return {}
    word_frequency: Counter[str] = Counter()
    word_degree: Counter[str] = Counter()
    for phrase, _, _ in candidates:
        for token in phrase:
            word_frequency[token.casefold()] += 1
            word_degree[token.casefold()] += len(phrase)
    clauses = max(index for _, _, index in candidates) + 1
    scores: dict[str, float] = defaultdict(float)
    surface: dict[str, Counter[str]] = defaultdict(Counter)
    for phrase, capitalised, index in candidates:
        key = " ".join(phrase).casefold()
        # RAKE's degree/frequency alone prefers long one-off phrases; averaging it with
        # the words' own frequency keeps the story's recurring names on top.
        weights = [
            math.log1p(word_frequency[t.casefold()])
            + word_degree[t.casefold()] / word_frequency[t.casefold()] / _MAX_PHRASE_WORDS
            for t in phrase
        ]
        length = _LENGTH_WEIGHT[len(phrase)] * (
            1.0 if len(phrase) > 1 or phrase[0][0].isupper() else _LOWER_SINGLE_WEIGHT
        )
        early = 1.0 + 1.0 / (1.0 + _EARLY_DECAY * index / clauses)  # 2.0 at the start, then less
        boost = _NAME_BOOST if capitalised else 1.0
        scores[key] += sum(weights) / len(weights) * length * early * boost
        surface[key][" ".join(phrase)] += 1
    return {surface[key].most_common(1)[0][0]: score for key, score in scores.items()}


def _cjk_phrases(text: str) -> dict[str, float]:
    """Character 2..4-grams seen at least twice, longer ones absorbing their parts."""
    counts: Counter[str] = Counter()
    for run in _CJK_RUN.findall(text):
        for size in (2, 3, 4):
            counts.update(run[i : i + size] for i in range(len(run) - size + 1))
    frequent = {gram: count for gram, count in counts.items() if count >= 2 and gram not in CJK_STOPWORDS}
    # A gram is part of a longer term when a one-character extension keeps most of its uses
    # ("新能" inside "新能源"); checking only direct extensions keeps this linear.
    absorbed = {
        part
        for longer, count in frequent.items()
        if len(longer) > 2
        for part in (longer[:-1], longer[1:])
        if count >= 0.7 * frequent.get(part, count)
    }
    return {
        gram: count * math.log2(len(gram) + 1) for gram, count in frequent.items() if gram not in absorbed
    }


def key_phrases(text: str, k: int = 5) -> list[str]:
    """The k phrases that best say what a text is about, best first (may return fewer)."""
    # Bylines and "Subscribe to ..." lines would put the reporter's name among the topics.
    text = "\n".join(line for line in text.split("\n") if not is_boilerplate(line))
    if k <= 0 or not text.strip():
        return []
    scores = {**_latin_phrases(text), **_cjk_phrases(text)}
    chosen: list[str] = []
    used: set[str] = set()
    for phrase in sorted(scores, key=lambda p: (-scores[p], p)):
        folded = phrase.casefold()
        parts = set(folded.split()) if " " in folded else {folded}
        if parts & used or any(folded in kept or kept in folded for kept in used):
            continue  # "Hannity" or "Hannity said" add nothing after "Sean Hannity"
        chosen.append(phrase)
        used |= parts
        if len(chosen) == k:
            break
    return chosen


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms == 0.0, 1.0, norms)


def assign_topic(vector: np.ndarray, centroids: np.ndarray, threshold: float) -> tuple[int | None, float]:
    """Nearest centroid by cosine and its score; the index is None below the threshold.

    ``centroids`` is (n_topics, dim), normalised or not (running means are fine). With no
    topics yet the answer is (None, -1.0), the lowest cosine there is.
    """
    vector = np.asarray(vector, dtype=np.float64).reshape(-1)
    centroids = np.asarray(centroids, dtype=np.float64)
    if centroids.size == 0:
        return None, -1.0
    if centroids.ndim != 2 or centroids.shape[1] != vector.shape[0]:
        raise ValueError(
            f"centroids of shape {centroids.shape} do not match a vector of dim {vector.shape[0]}"
        )
    scores = _unit_rows(centroids) @ _unit_rows(vector)
    best = int(np.argmax(scores))
    score = float(scores[best])
    return (best if score >= threshold else None), score
