"""Words, stopwords and numbers: the lexical side of splitting and comparing sentences.

Shared by fact splitting and key phrases (ingest/) and by the novelty check (kb/): a
known fact must state the same numbers as the candidate ("1,000" and "1000", "3.5
million" and "3,500,000" are one number) and share enough content words with it.

Python's ``\\w`` stops at combining marks, which cuts Indic words (Kannada, Hindi) into
pieces, so a word here is a letter followed by letters, digits and combining marks.
Runs of CJK ideographs/kana have no spaces between words; callers that need word units
split them with :func:`is_cjk` (character bigrams for overlap, n-grams for key phrases).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation


def _mark_class() -> str:
    """Regex class body of every combining mark in the Basic Multilingual Plane."""
    ranges: list[str] = []
    start: int | None = None
    for code in range(0x10001):
        is_mark = code < 0x10000 and unicodedata.category(chr(code)).startswith("M")
        if is_mark and start is None:
            start = code
        elif not is_mark and start is not None:
            ranges.append(f"\\u{start:04x}-\\u{code - 1:04x}")
            start = None
    return "".join(ranges)


_MARKS = _mark_class()
# A word: starts with a letter, continues with letters, digits, marks, or an inner ' or -
# ("don't", "state-run", "l'uomo" stays one token; French elision is split off below).
WORD = re.compile(rf"(?<!\d)[^\W\d_][\w{_MARKS}]*(?:['’\-][\w{_MARKS}]+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ELISION = re.compile(r"^(?:[ldjmnst]|qu|dell|dall|nell|sull|all)['’]", re.IGNORECASE)


def is_cjk(token: str) -> bool:
    """True when the token is written in Chinese/Japanese characters (no spaces between words)."""
    return bool(_CJK.match(token))


def words(text: str) -> list[str]:
    """Word tokens in order, with French/Italian elisions ("l'homme" -> "homme") removed."""
    return [_ELISION.sub("", token) for token in WORD.findall(text)]


# A small list per feed language, enough to keep function words out of overlap and key
# phrases (English, German, French, Italian, Swedish, Dutch, Slovak, Ukrainian).
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours said says say new one two also like get got
    according mr mrs ms dr its it's that's there's
    der die das den dem des ein eine einer eines einem einen und oder aber auch als am an auf aus
    bei bis da dass durch für hat haben hatte ich ist im in mit nach nicht noch nur ob sich sie
    sind so über um und uns vom von vor war waren was wie wir wird werden zu zum zur sein seine
    ihre ihr es er man mehr kann können soll sollen beim diese dieser dieses wurde wurden schon
    le la les un une des du de et en est pas pour par au aux ce cette ces qui que dans sur avec
    plus son sa ses ont été être il elle ils elles nous vous mais ou où se ne leur leurs lors
    il lo gli i una uno di da del della dei degli delle al allo alla ai agli alle e è non che
    per con su tra fra come anche ma più sono stato stata ha hanno questo questa quello si
    och att det som en ett är på för med av till den de inte har om var men så kan ska eller
    efter vid nu bara också sig sin sina han hon vi ni
    het een en van de dat die niet op te zijn voor met aan er ook maar bij door nog
    a aj ako je sa na v vo z zo do od pre pri po že sú bol bola boli bude ktorý ktorá ktoré
    alebo ale tak to tento táto toto ich jeho jej už len aby
    і й та в у на з із до за що як це не від по про для але чи його її їх він вона вони ми ви
    був була було були бути також який яка яке які або вже ще так між після через під над при
    проти щодо році року
    """.split()
)
# Chinese function words and fillers that would otherwise top CJK n-gram counts.
CJK_STOPWORDS = frozenset(
    """
    可以 我们 一个 没有 这个 他们 以及 已经 因为 但是 如果 就是 还是 表示 进行 这些 那些 自己
    什么 时候 目前 其中 之后 之前 同时 通过 不是 也是 这样 很多 非常 需要 可能 能够 对于 以上
    """.split()
)


# Scale words after a number, by power of ten ("3.5 million" == "3,500,000").
_SCALES = {
    **dict.fromkeys("thousand tausend mille tusen тис тисяч tisíc".split(), 3),
    **dict.fromkeys(
        "million millions mio millionen milioni miljoner miljon milióny miliónov млн мільйонів "
        "мільйони".split(),
        6,
    ),
    **dict.fromkeys(
        "billion billions bn mrd milliarde milliarden milliard milliards miliardi miljarder "
        "miliardy miliárd млрд мільярдів".split(),
        9,
    ),
    **dict.fromkeys("trillion trillions billionen".split(), 12),
}
_PERCENT_WORDS = r"%|％|(?:per\s?cent|percent|prozent|pour\s?cent|per\s?cento|procent|відсотк\w*)\b"
_NUMBER = re.compile(
    r"(?<![\w.,])(?P<currency>[$£€¥₹₴]\s?)?"
    # Grouped thousands with spaces or apostrophes ("100 000", "1'000"), else plain digits
    # with , and . in any role ("1,000.5", "1.000,5", "3,5").
    r"(?P<number>\d{1,3}(?:[ \u00a0\u202f'’]\d{3})+(?:[,.]\d+)?(?![\d,.]\d)|\d+(?:[,.]\d+)*)"
    rf"(?P<percent>\s?(?:{_PERCENT_WORDS}))?"
    r"(?P<space>\s?)(?P<scale>[^\W\d_]+)?",
    re.IGNORECASE,
)
# Money shorthand, only right after an amount with a currency sign: "£95m", "$1.5bn".
_MONEY_SCALES = {"k": 3, "m": 6, "mn": 6, "b": 9, "bn": 9}


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in text)


def _plain_number(raw: str) -> str:
    """Canonical digits: 1,000 -> 1000, 3,5 -> 3.5, 1.234.567,8 -> 1234567.8, 2.50 -> 2.5."""
    raw = re.sub(r"[ '’\u00a0\u202f]", "", raw)
    separators = [c for c in raw if c in ",."]
    if not separators:
        return str(int(raw))
    last = separators[-1]
    head, _, tail = raw.rpartition(last)
    if len(set(separators)) == 1 and (len(separators) > 1 or len(tail) == 3):
        return str(int(raw.replace(last, "")))  # only thousands separators
    integer = int(re.sub(r"[,.]", "", head))
    decimals = tail.rstrip("0")
    return f"{integer}.{decimals}" if decimals else str(integer)


def numbers_in(text: str) -> frozenset[str]:
    """Normalised numbers a text states: separators unified, scale words and percent applied."""
    found: set[str] = set()
    for match in _NUMBER.finditer(_ascii_digits(unicodedata.normalize("NFKC", text))):
        try:
            value = _plain_number(match.group("number"))
        except ValueError:
            continue
        word = (match.group("scale") or "").lower()
        scale = _SCALES.get(word)
        if match.group("currency") and not match.group("space"):
            scale = scale or _MONEY_SCALES.get(word)
        if scale and not match.group("percent"):
            try:
                value = format(Decimal(value).scaleb(scale).normalize(), "f")
            except InvalidOperation:
                continue
        found.add(value + "%" if match.group("percent") else value)
    return frozenset(found)


_POSSESSIVE_OR_PLURAL = re.compile(r"(?:['’]s|(?<=[a-z]{3})(?<!s)s)$")


def content_words(text: str) -> set[str]:
    """Lower-cased words minus stopwords; CJK runs become character bigrams.

    English possessives and plurals fold ("crowns", "council's" -> "crown", "council") so that
    two wordings of one fact share their words; other scripts are left as they are.
    """
    found: set[str] = set()
    for token in words(text.casefold()):
        if is_cjk(token):
            found.update(token[i : i + 2] for i in range(max(len(token) - 1, 1)))
        elif token not in STOPWORDS and len(token) > 1:
            found.add(_POSSESSIVE_OR_PLURAL.sub("", token))
    return found


def word_overlap(a: str, b: str) -> float:
    """Shared content words over the smaller sentence's content words (0.0 when either has none)."""
    words_a, words_b = content_words(a), content_words(b)
    if not words_a or not words_b:
        return 0.0
    return len(words_a & words_b) / min(len(words_a), len(words_b))
