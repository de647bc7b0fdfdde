"""Is a candidate sentence a fact the store already knows?

The encoder's cosine proposes, two cheap checks dispose: on news text from many
languages a sentence encoder gives some unrelated sentences of the same shape
("X beat Y 2-1 on Sunday") high cosines, so a known fact must also state the
same numbers and share enough content words with the candidate. The decision
keeps the nearest fact and its score so ``kb explain`` can show why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = re.compile(r"\d[\d,.\u00a0']*\d|\d")
_WORD = re.compile(r"\w+", re.UNICODE)

# Function words of the feed languages seen most (en, de, fr, it, sv, sk): they say nothing
# about which fact a sentence states, so they must not count as shared evidence.
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being
    it its this that these those he she they we you i his her their our your not no so than then
    there here has have had do does did will would can could should may might must said says
    about after before into over under up down out more most also just only very all any some
    der die das und oder ein eine einer eines einem einen ist sind war waren mit von zu im in den
    dem des auf für nicht auch sich als bei nach aus wie es er sie wir ihr noch nur
    le la les un une des et ou de du au aux en dans pour par sur avec est sont été que qui ne pas
    il elle ils elles ce cette ces son sa ses plus
    il lo gli i una uno di da con su per tra fra che non è sono come anche nel nella del della
    och att det som en ett är var för på med av till den de om har inte
    a je sa na v vo z zo do za od pre sú bol bola aj ako že""".split()
)


@dataclass
class NoveltyConfig:
    # Cosine at or above which a stored fact may be the same fact (see README for the choice).
    threshold: float = 0.80
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


def numbers_in(text: str) -> frozenset[str]:
    """Numbers a sentence states, normalised: "1,000" and "1000" are one number."""
    return frozenset(re.sub(r"[,\u00a0']", "", m).rstrip(".") for m in _NUMBER.findall(text))


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


def word_overlap(a: str, b: str) -> float:
    """Shared content words over the shorter sentence's count (1.0 when either has none)."""
    wa, wb = content_words(a), content_words(b)
    if not wa or not wb:
        return 1.0
    return len(wa & wb) / min(len(wa), len(wb))


def mismatch(candidate: str, known: str, cosine: float, config: NoveltyConfig) -> str | None:
    """Why ``candidate`` is NOT the fact ``known`` (None when it is the same fact)."""
    if cosine < config.threshold:
        return f"cosine {cosine:.3f} < threshold {config.threshold:.2f}"
    if config.require_same_numbers and numbers_in(candidate) != numbers_in(known):
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
