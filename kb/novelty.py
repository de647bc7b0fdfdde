"""Is a candidate sentence a fact the store already knows?

The encoder's cosine proposes, two cheap checks dispose: on news text from many
languages a sentence encoder gives some unrelated sentences of the same shape
("X beat Y 2-1 on Sunday") high cosines, so a known fact must also state the
same numbers (one may add a number the other leaves out, e.g. a date, but none may
differ) and share enough content words with the candidate. The decision
keeps the nearest fact and its score so ``kb explain`` can show why.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.words import numbers_in, word_overlap


@dataclass
class NoveltyConfig:
    # Cosine at or above which a stored fact may be the same fact: F0.5-best (precision
    # weighted double) on STS-B *train* pairs for the shipped encoder with the two checks
    # below (`kb eval novelty`; README).
    threshold: float = 0.78
    # Share of the shorter sentence's content words that the two must have in common.
    min_word_overlap: float = 0.4
    require_same_numbers: bool = True


@dataclass
class Decision:
    verdict: str  # "new" | "known"
    fact_id: int | None  # the known fact, when known
    score: float | None  # cosine of the candidate to that fact
    nearest_fact_id: int | None
    nearest_score: float | None
    reason: str


def _numbers_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """True when neither sentence's numbers include the other's: "aged 12" vs "aged 13"
    conflict, while one sentence adding a date the other leaves out does not."""
    return not (a <= b or b <= a)


def mismatch(candidate: str, known: str, cosine: float, config: NoveltyConfig) -> str | None:
    """Why ``candidate`` is NOT the fact ``known`` (None when it is the same fact)."""
    if cosine < config.threshold:
        return f"cosine {cosine:.3f} < threshold {config.threshold:.2f}"
    if config.require_same_numbers and _numbers_conflict(numbers_in(candidate), numbers_in(known)):
        return "states different numbers"
    overlap = word_overlap(candidate, known)
    if overlap < config.min_word_overlap:
        return f"word overlap {overlap:.2f} < {config.min_word_overlap:.2f}"
    return None


def same_fact(candidate: str, known: str, cosine: float, config: NoveltyConfig) -> bool:
    """The store's decision for one candidate and its nearest known fact."""
    return mismatch(candidate, known, cosine, config) is None


def decide(candidate: str, neighbours: list[tuple[int, str, float]], config: NoveltyConfig) -> Decision:
    """Known when any neighbour (fact_id, text, cosine), best first, is the same fact."""
    if not neighbours:
        return Decision("new", None, None, None, None, "the store holds no facts yet")
    nearest_id, _, nearest_score = neighbours[0]
    reasons = []
    for fact_id, text, score in neighbours:
        why_not = mismatch(candidate, text, score, config)
        if why_not is None:
            return Decision("known", fact_id, score, nearest_id, nearest_score,
                            f"same fact as #{fact_id} (cosine {score:.3f})")  # fmt: skip
        reasons.append(f"#{fact_id}: {why_not}")
        if score < config.threshold:
            break
    return Decision("new", None, None, nearest_id, nearest_score, "; ".join(reasons))
