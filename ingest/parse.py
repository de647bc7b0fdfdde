"""Feed bytes -> :class:`ParsedFeed`, refusing what is hostile and naming what is broken.

feedparser does the RSS/Atom/RDF work; this module guards its input and
normalises its output:

- it is handed a byte stream, never a URL or a bare string: given ``bytes``,
  ``feedparser.parse`` first tries them as a *file name* (``/etc/passwd``);
- documents whose DOCTYPE declares entities are refused before parsing: that
  is how entity expansion (billion laughs) and external entities (XXE) work,
  and no real feed needs them;
- bytes are decoded here (BOM, then XML declaration, then HTTP charset, then
  UTF-8, then cp1252) and handed on as UTF-8, so a wrong or missing charset
  gives readable text plus a warning rather than mojibake or a failure;
- an HTML page served instead of a feed, an empty feed and malformed XML each
  get a one-line reason; malformed XML from which feedparser still recovered
  entries keeps them with a warning.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import feedparser

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 500
MAX_ENTRIES = 1000
FUTURE_TOLERANCE = timedelta(days=1)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.I)
_XML_DECL_TEXT = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)
_DOCTYPE = re.compile(r"<!DOCTYPE", re.I)
_ENTITY_DECL = re.compile(r"<!ENTITY", re.I)
# The first element: skips <?...?>, <!-- -->, <!DOCTYPE ...> which start with '?' or '!'.
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_SPACE = re.compile(r"\s+")


class FeedError(Exception):
    """A feed document that yields nothing usable; ``str()`` is the one-line reason."""


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, normalised. ``published`` is UTC-aware or None."""

    guid: str
    url: str | None
    title: str
    published: datetime | None
    html: str
    author: str | None


@dataclass
class ParsedFeed:
    title: str
    entries: list[FeedEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_feed(
    body: bytes, url: str, content_type: str | None = None, *, now: datetime | None = None
) -> ParsedFeed:
    """Parse feed ``body`` fetched from ``url``; raises :class:`FeedError` when unusable."""
    warnings: list[str] = []
    text = decode_document(body, content_type, warnings)
    _refuse_entity_declarations(text)
    _refuse_non_feed(text, content_type)
    data = _feedparser(text, url)
    raw_entries = data.entries
    if data.bozo and not raw_entries:
        if not data.get("version") and not data.feed:
            raise FeedError(f"not a feed: {_bozo_reason(data)}")
        raise FeedError(f"malformed XML: {_bozo_reason(data)}")
    elif data.bozo:
        warnings.append(f"malformed XML, recovered {len(raw_entries)} entries: {_bozo_reason(data)}")
    if not data.get("version") and not raw_entries:
        raise FeedError("not a feed: no RSS, Atom or RDF elements found")
    if len(raw_entries) > MAX_ENTRIES:
        warnings.append(f"{len(raw_entries)} entries, kept the first {MAX_ENTRIES}")
        raw_entries = raw_entries[:MAX_ENTRIES]
    now = now or datetime.now(UTC)
    entries = _unique_entries((_entry(e, now, warnings) for e in raw_entries), warnings)
    if not entries:
        warnings.append("feed has no entries")
    title = _clean_title(data.feed.get("title", ""), "feed title", warnings)
    for warning in warnings:
        log.warning("%s: %s", url, warning)
    return ParsedFeed(title=title, entries=entries, warnings=warnings)


def _feedparser(text: str, url: str) -> feedparser.FeedParserDict:
    """feedparser's result for ``text``; its own crashes on hostile input become a FeedError."""
    try:
        return feedparser.parse(
            io.BytesIO(text.encode("utf-8")),
            response_headers={
                "content-type": "application/xml; charset=utf-8",
                "content-location": url,  # the base for relative links
            },
        )
    # Why so broad: fuzzing real feeds found feedparser raising TypeError and KeyError on
    # mangled documents; one hostile feed must fail alone, never stop the run.
    except Exception as exc:  # noqa: BLE001
        raise FeedError(f"feed parser failed: {type(exc).__name__}: {exc}") from exc


def decode_document(body: bytes, content_type: str | None, warnings: list[str]) -> str:
    """The document as text, its XML declaration rewritten to say UTF-8."""
    candidates: list[tuple[str, str]] = []
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            body = body[len(bom) :]
            candidates.append(("byte order mark", encoding))
            break
    declared = _XML_DECL.match(body[:1024])
    if declared:
        candidates.append(("XML declaration", declared.group(1).decode("ascii")))
    http = _HTTP_CHARSET.search(content_type or "")
    if http:
        candidates.append(("HTTP charset", http.group(1)))
    candidates += [("fallback", "utf-8"), ("fallback", "cp1252")]
    for source, encoding in candidates:
        try:
            text = body.decode(encoding)
        except LookupError:
            warnings.append(f"unknown charset {encoding!r} from the {source}")
            continue
        except UnicodeDecodeError:
            if source != "fallback":
                warnings.append(f"bytes do not match the {source}'s charset {encoding!r}")
                continue
            text = _mostly_utf8(body, encoding, warnings)
            if text is None:
                continue
        if source == "fallback" and len(candidates) > 2:
            warnings.append(f"decoded as {encoding}")
        # Leading blank lines before "<?xml" make strict parsers reject the document.
        return _XML_DECL_TEXT.sub('<?xml version="1.0" encoding="utf-8"?>', text.lstrip(), count=1)
    # cp1252 leaves five bytes undefined; latin-1 maps every byte.
    warnings.append("decoded as latin-1")
    return body.decode("latin-1").lstrip()


def _mostly_utf8(body: bytes, encoding: str, warnings: list[str]) -> str | None:
    """UTF-8 text with a few stray bytes replaced, or None when the bytes are another charset.

    A UTF-8 feed with one pasted cp1252 byte should not turn every accented letter into
    mojibake; a cp1252 feed has (almost) no valid multi-byte sequences at all.
    """
    if encoding != "utf-8":
        return None
    text = body.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    valid = sum(1 for ch in text if ord(ch) > 127) - bad
    if valid <= bad:
        return None
    warnings.append(f"invalid UTF-8 bytes replaced: {bad}")
    return text


def _refuse_entity_declarations(text: str) -> None:
    prolog = text[: _root_start(text)]
    doctype = _DOCTYPE.search(prolog)
    if doctype and _ENTITY_DECL.search(prolog, doctype.start()):
        raise FeedError("refused: the DOCTYPE declares entities (entity expansion or external entity attack)")


def _root_start(text: str) -> int:
    """Offset of the root element: everything before it is the prolog (declaration, DOCTYPE)."""
    # "<" opening a DOCTYPE declaration is "<!", never "<name", so the DOCTYPE stays in the prolog.
    match = _ROOT.search(text)
    return match.start() if match else len(text)


def _root_name(text: str) -> str:
    match = _ROOT.search(text)
    return match.group(1).lower() if match else ""


def _refuse_non_feed(text: str, content_type: str | None) -> None:
    root = _root_name(text)
    if root == "html" or (not root and "html" in (content_type or "").lower()):
        raise FeedError("not a feed: got an HTML page")


def _bozo_reason(data: feedparser.FeedParserDict) -> str:
    error = data.get("bozo_exception")
    if error is None:
        return "unknown parser error"
    reason = getattr(error, "getMessage", lambda: str(error))()
    line = getattr(error, "getLineNumber", lambda: None)()
    reason = str(reason).splitlines()[0] if str(reason) else type(error).__name__
    return f"{reason} at line {line}" if line else reason


def _clean_title(raw: str, what: str, warnings: list[str]) -> str:
    title = _SPACE.sub(" ", raw or "").strip()
    if len(title) > MAX_TITLE_CHARS:
        warnings.append(f"{what} of {len(title):,} characters cut to {MAX_TITLE_CHARS}")
        title = title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return title


def _entry(raw: feedparser.FeedParserDict, now: datetime, warnings: list[str]) -> FeedEntry:
    link = raw.get("link") or None
    if link and not link.lower().startswith(("http://", "https://")):
        link = None  # javascript:, data:, file: links are never followed nor shown
    html = _entry_html(raw)
    title = _clean_title(raw.get("title", ""), f"title of entry {link or '?'}", warnings)
    guid = (raw.get("id") or "").strip() or link or _content_guid(title, html)
    return FeedEntry(
        guid=guid,
        url=link,
        title=title,
        published=_published(raw, now, guid, warnings),
        html=html,
        author=(raw.get("author") or "").strip() or None,
    )


def _entry_html(raw: feedparser.FeedParserDict) -> str:
    """Full content (content:encoded, atom content) when present, else the summary."""
    contents = [c.get("value", "") for c in raw.get("content", []) if c.get("value")]
    if contents:
        return max(contents, key=len)
    return raw.get("summary", "") or ""


def _content_guid(title: str, html: str) -> str:
    """A stable key for an entry with neither id nor link."""
    digest = hashlib.sha256(f"{title}\n{html}".encode()).hexdigest()[:32]
    return f"sha256:{digest}"


def _published(
    raw: feedparser.FeedParserDict, now: datetime, guid: str, warnings: list[str]
) -> datetime | None:
    # dict.get: FeedParserDict.get("updated_parsed") warns and aliases published_parsed.
    parsed = dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")
    if not parsed:
        return None
    try:
        when = datetime(*parsed[:6], tzinfo=UTC)  # feedparser normalises to UTC
    except (TypeError, ValueError):
        return None
    if when > now + FUTURE_TOLERANCE:
        warnings.append(f"entry {guid}: date {when:%Y-%m-%d %H:%M} UTC is in the future, ignored")
        return None
    return when


def _unique_entries(entries, warnings: list[str]) -> list[FeedEntry]:
    """Entries with a GUID seen earlier in the same document dropped (first wins)."""
    seen: set[str] = set()
    unique = []
    for entry in entries:
        if entry.guid in seen:
            warnings.append(f"duplicate guid {entry.guid} in the feed, kept the first")
            continue
        seen.add(entry.guid)
        unique.append(entry)
    return unique
