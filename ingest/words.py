"""Word tokens and stopwords shared by fact splitting and key-phrase extraction.

Python's ``\\w`` stops at combining marks, which cuts Indic words (Kannada, Hindi) into
pieces, so a word here is a letter followed by letters, digits and combining marks.
Runs of CJK ideographs/kana have no spaces between words; callers that need word units
split them with :func:`is_cjk` (character bigrams for overlap, n-grams for key phrases).
"""

from __future__ import annotations

import re
import unicodedata


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
