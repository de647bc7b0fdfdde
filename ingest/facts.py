"""Candidate facts: the sentences of an article that state something, without boilerplate.

Sentence splitting is rule based (in the spirit of Punkt/pySBD, without their models): a
boundary is terminal punctuation, optional closing quotes, whitespace, and a sentence start
(not a lower-case letter); known abbreviations, initials, dotted acronyms and German ordinal
dates ("7. Februar") are not boundaries; CJK full-width 。！？ end a sentence without a space.
Every line break in the cleaned text is a boundary (headings, list items, bylines).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from kb.words import is_cjk, words

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FactConfig:
    """Bounds on what counts as a statement (characters and word units)."""

    min_chars: int = 20
    max_chars: int = 600
    min_words: int = 4
    max_words: int = 120


_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt gen gov sen rep lt col sgt capt cmdr adm rev hon pres supt
    vs v approx appx dept univ assn ave blvd rd nos vol vols fig figs pp
    jan feb apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri
    nr bzw usw ca vgl ggf evtl inkl zzgl hr hrn tel
    mme mlle cf env
    sig sigg dott ecc pag
    resp tzv napr atď ing mgr
    вул ім ст див тис млн млрд грн
    """.split()
)
# Abbreviations that often end a sentence too ("... said Acme Inc. The company"): a boundary
# only before a usual sentence opener, like dotted acronyms.
_SOFT_ABBREVIATIONS = frozenset("inc ltd co corp bros llc plc etc al".split())
_SENTENCE_STARTERS = frozenset(
    "the a an in on it he she they we this that but and as at after officials police".split()
)
_GERMAN_MONTHS = frozenset(
    "januar jänner februar märz april mai juni juli august september oktober november dezember".split()
)
_OPENERS = "\"'“‘«„‚(["
_CLOSERS = "\"'”’»)]」』）"
# Terminal punctuation + closing quotes, then whitespace (Latin scripts) or nothing (CJK).
# "do?Archiving": a missing space after ! or ? before a capitalised word still ends a sentence.
_BOUNDARY = re.compile(
    rf"(?:[.!?…]+|[।॥])[{re.escape(_CLOSERS)}]*(?=\s)|[。！？][{re.escape(_CLOSERS)}]*"
    r"|(?<=[a-z])[!?]+(?=[A-Z][a-z])"
)
# Brand names that start lower case but open a sentence: "iOS", "iPhone", "eBay".
_CAMEL_START = re.compile(r"[a-z]{1,2}[A-Z]")
_WORD_BEFORE = re.compile(r"(\S+)$")

_INLINE_JUNK = re.compile(
    r"\((?:image|photo|picture|video|foto|bild)\s*(?:credit|source|:)[^)]*\)|"
    r"\[(?:…|\.\.\.)\]|\((?:…|\.\.\.)\)|\[\s*\]",
    re.IGNORECASE,
)
# Sentences that open as site furniture, in the feed languages we see.
_BOILERPLATE = re.compile(
    r"""^(?:
      (?:read|see)\s+(?:more|on|full\s+(?:article|story)|the\s+full|also)\b
    | continue\s+reading | click\s+here | tap\s+here | more\s+(?:here|info)\b
    | weiterlesen | mehr\s+(?:lesen|zum\s+thema) | lesen\s+sie\s+(?:auch|mehr)
    | lire\s+(?:la\s+suite|aussi|plus) | en\s+savoir\s+plus
    | leggi\s+(?:anche|tutto|di\s+più) | läs\s+(?:mer|också) | čítajte\s+(?:viac|aj)
    | читати\s+(?:далі|також) | читайте\s+також
    | related\s*: | see\s+also\b | also\s+read\b
    | the\s+post\s+.+\s+appeared\s+first\s+on\b
    | this\s+(?:article|story|post)\s+(?:was\s+)?(?:originally\s+)?(?:appeared|published)
    | originally\s+published
    | (?:additional\s+)?(?:reporting|writing|editing|research)\s+by\b
    | (?:photo|image|picture|foto|bild|credit|source|quelle|video)s?(?:\s+credits?)?\s*[:：]
    | (?:share|follow|like)\s+(?:this|us|on)\b | share\s+(?:on|via)\b
    | sign\s+up\b | log\s+in\b | subscribe\b | download\s+(?:the|our)\s+app
    | copyright\s+(?:©|\(c\)|\d{4}) | ©
    | (?:\d+\s+)?(?:comments?|kommentare?|commentaires?|commenti|kommentarer)\W*$
    | (?:advertisement|anzeige|werbung|publicité|pubblicità|sponsored(?:\s+content)?)\W*$
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# Furniture wherever it sits in the sentence.
_BOILERPLATE_ANYWHERE = re.compile(
    r"""
      \bwe\s+use\s+cookies\b | \bcookies?\b.{0,80}\b(?:accept|consent|settings|policy)\b
    | \b(?:our|see|read)\s+(?:\w+\s+)?privacy\s+(?:policy|notice) | \bfor\s+privacy\s+information\b
    | \b(?:subscribe|sign\s+up|register)\b.{0,60}\bnewsletters?\b
    | \bnewsletters?\b.{0,40}\binbox\b
    | \bfollow\s+us\s+on\b | \blike\s+us\s+on\s+facebook\b
    | \ball\s+rights\s+reserved\b | ©\s*\d{4}
    | \bappeared\s+first\s+on\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
# "By Jane Doe", "By Jane Doe and John Roe, Staff Reporters", "Von Max Muster".
_BYLINE = re.compile(
    r"^(?i:by|von|par|di|av|od|від)\s+"
    r"(?:[A-ZÀ-ÖØ-ÞА-ЯІЇЄҐ][\w.'’\-]*\s*(?:,|and|und|et|e|och|&)?\s*){1,6}"  # capitalised names
    r"(?:,\s*[\w\s]{0,40})?$"  # ", Staff Reporter"
)
# "Headline | Site name" (a pipe is a separator in titles, rarely part of the headline).
_SITE_SUFFIX = re.compile(r"\s+[|｜]\s+[^|｜]{1,40}$")
# Feed summaries cut mid-sentence: "... the council voted to [&hellip;]".
_TRUNCATED = re.compile(r"(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)[\s\"'”’»)]*$")
# Links, bare domains with a path ("pic.twitter.com/x") and @handles are not words.
_LINKS = re.compile(r"https?://\S+|www\.\S+|\b[\w-]+(?:\.[\w-]+)+/\S*|(?<!\w)@\w+")


def _is_boundary(text: str, end: int, punct: str) -> bool:
    """Decide whether the terminal punctuation text[..end] really ends a sentence."""
    rest = text[end:].lstrip()
    if not rest:
        return True
    if punct[-1] in "。！？।॥":
        return True
    start = rest[1:2] if rest[0] in _OPENERS and len(rest) > 1 else rest[0]
    if start.islower() and not _CAMEL_START.match(rest):
        return False
    if not (start.isalnum() or rest[0] in _OPENERS):
        return False
    if punct.rstrip(_CLOSERS) != ".":
        return True
    before = _WORD_BEFORE.search(text[: end - len(punct) + 1])
    if before is None:
        return True
    token = before.group(1).rstrip(".").lstrip(_OPENERS)
    next_word = (words(rest[:40]) or [""])[0].lower()
    if token.lower() in _ABBREVIATIONS or token.lower().replace(".", "") in _ABBREVIATIONS:
        return False
    if len(token) == 1 and token.isalpha() and token.isupper():
        return False  # an initial: "John F. Kennedy"
    dotted = "." in token and all(len(piece) <= 2 for piece in token.split("."))
    if dotted or token.lower() in _SOFT_ABBREVIATIONS:
        # "U.S.", "e.g.", "Inc." end a sentence only before a usual sentence opener.
        return next_word in _SENTENCE_STARTERS
    if token.isdigit() and len(token) <= 2 and next_word in _GERMAN_MONTHS:
        return False  # German ordinal date: "am 7. Februar"
    return True


def split_sentences(text: str) -> list[str]:
    """Sentences of cleaned text, in order; every line break is also a boundary."""
    sentences: list[str] = []
    for line in text.split("\n"):
        start = 0
        for match in _BOUNDARY.finditer(line):
            if _is_boundary(line, match.end(), match.group()):
                sentences.append(line[start : match.end()].strip())
                start = match.end()
        sentences.append(line[start:].strip())
    return [sentence for sentence in sentences if sentence]


def _word_units(sentence: str) -> int:
    """Words, counting a run of CJK characters as one word per two characters."""
    return sum((len(token) + 1) // 2 if is_cjk(token) else 1 for token in words(sentence))


def _is_statement(sentence: str, config: FactConfig) -> bool:
    sentence = " ".join(_LINKS.sub(" ", sentence).split())
    if not config.min_chars <= len(sentence) <= config.max_chars:
        return False
    if not config.min_words <= _word_units(sentence) <= config.max_words:
        return False
    if sentence.rstrip(_CLOSERS).endswith(("?", "？", ":", "：")):
        return False  # questions and lead-ins announce rather than state
    if is_boilerplate(sentence):
        return False
    return sum(char.isalpha() for char in sentence) >= len(sentence) * 0.4


def is_boilerplate(line: str) -> bool:
    """True for site furniture: "Read more", bylines, credits, cookie and newsletter notices."""
    line = line.strip()
    return bool(
        _BOILERPLATE.match(line.lstrip(_OPENERS + "-–—•* "))
        or _BOILERPLATE_ANYWHERE.search(line)
        or _BYLINE.match(line)
    )


def _normalised(sentence: str) -> str:
    """Dedup key: case, punctuation and spacing ignored; numbers kept ("5%" vs "7%" differ)."""
    return " ".join(re.findall(r"[^\W_]+", sentence.casefold()))


def candidate_facts(text: str, title: str | None = None, config: FactConfig | None = None) -> list[str]:
    """Sentences of an article's clean text that state something, boilerplate removed.

    The title comes first when it is itself a statement (a headline, not a question).
    Exact repeats (ignoring case, punctuation and spacing) are kept once.
    """
    config = config or FactConfig()
    pieces = split_sentences(_SITE_SUFFIX.sub("", title.strip())) if title else []
    if len(pieces) > 1:  # "Was war. Was wird." style titles: keep the headline whole
        pieces = [" ".join(pieces)]
    pieces += split_sentences(text)
    facts: list[str] = []
    seen: set[str] = set()
    for piece in pieces:
        if _TRUNCATED.search(piece):
            continue  # a teaser cut off mid-sentence states nothing reliably
        sentence = " ".join(_INLINE_JUNK.sub(" ", piece).split())
        key = _normalised(sentence)
        if key in seen or not _is_statement(sentence, config):
            continue
        seen.add(key)
        facts.append(sentence)
    log.debug("%d candidate facts from %d sentences", len(facts), len(pieces))
    return facts
