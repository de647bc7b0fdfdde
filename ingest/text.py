"""Plain text out of feed HTML and article pages, with the standard library's html.parser only.

The output is what candidate-fact splitting expects: paragraphs separated by a blank line,
hard line breaks (``<br>``, list items in plain-text feeds) as single newlines, and no other
whitespace runs. Nothing inside script/style/iframe/svg/form/figure/... ever reaches it.

``extract_article_text`` is a "readability-lite" for whole web pages (the optional page fetch):
it scores containers by the paragraph text they hold (Arc90 Readability's idea: a paragraph
counts fully for its parent and half for its grandparent), penalises link-heavy paragraphs and
boilerplate regions (nav/header/footer/aside, class or id like "comment", "share", "related"),
and keeps the paragraphs of the best container.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

log = logging.getLogger(__name__)

# Subtrees whose text is never article text. figure/figcaption: captions and photo credits
# describe an image, they do not state the story's facts.
_SKIP_TAGS = frozenset(
    "script style noscript iframe svg math canvas template object embed form button select "
    "textarea head title figure figcaption video audio picture map".split()
)
# Regions that are page furniture rather than the story: nav/aside wherever they appear;
# header/footer only on whole pages (inside feed HTML they may hold the article's own dek).
_FURNITURE_TAGS = frozenset("nav aside".split())
_PAGE_FURNITURE_TAGS = frozenset("header footer menu dialog".split())
_VOID_TAGS = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_BLOCK_TAGS = frozenset(
    "address article blockquote body center dd details div dl dt fieldset footer h1 h2 h3 h4 "
    "h5 h6 header hr html li main ol p pre section summary table tbody td tfoot th thead tr ul "
    "caption".split()
)
# Block tags that a new one of the same kind closes implicitly (broken or HTML4-style markup).
_SELF_CLOSING_SIBLINGS = frozenset("p li dt dd tr td th".split())
_NEGATIVE_HINTS = re.compile(
    r"comment|disqus|share|social|related|promo|sponsor|advert|\bads?\b|banner|cookie|consent|"
    r"newsletter|subscribe|sidebar|footer|header|masthead|menu|breadcrumb|byline|author|"
    r"caption|credit|popup|modal|outbrain|taboola|tags?\b|meta",
    re.IGNORECASE,
)
_POSITIVE_HINTS = re.compile(r"article|story|post|entry|content|main|body|text|prose", re.IGNORECASE)
_LINE_BREAK_TAGS = re.compile(r"<(br|p|div|li|h[1-6]|tr|table|ul|ol|blockquote)\b", re.I)
# Invisible characters that only break words apart or glue them oddly (ZWJ/ZWNJ are kept:
# Indic scripts such as Kannada need them).
_INVISIBLE = str.maketrans({"\u200b": None, "\ufeff": None, "\u00ad": None, "\u2060": None})
_SPACES = re.compile(r"[^\S\n]+")
_MAX_DEPTH = 200  # element nesting kept; real pages stay well under 50


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    parent: _Node | None = None
    children: list[_Node | str] = field(default_factory=list)
    depth: int = 0


class _TreeBuilder(HTMLParser):
    """A forgiving DOM builder: unmatched end tags are ignored, open tags close at the end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self._open = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SELF_CLOSING_SIBLINGS and self._open.tag == tag:
            self._close(tag)
        node = _Node(tag, {k: v or "" for k, v in attrs}, self._open, depth=self._open.depth + 1)
        self._open.children.append(node)
        # Past _MAX_DEPTH (thousands of unclosed <font> or <div>) tags stop nesting, so the
        # recursive walks stay bounded; skipped tags still nest so their text stays hidden.
        if tag not in _VOID_TAGS and (node.depth < _MAX_DEPTH or tag in _SKIP_TAGS):
            self._open = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self._open.children.append(_Node(tag, attributes, self._open, depth=self._open.depth + 1))

    def handle_endtag(self, tag: str) -> None:
        self._close(tag)

    def handle_data(self, data: str) -> None:
        self._open.children.append(data)

    def _close(self, tag: str) -> None:
        node: _Node | None = self._open
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self._open = node.parent

    # Comments, CDATA sections, doctype and processing instructions carry no article text.
    def handle_comment(self, data: str) -> None:
        return None

    def unknown_decl(self, data: str) -> None:
        return None


def _parse(html: str) -> _Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def _render(node: _Node, skip: frozenset[str], keep_newlines: bool) -> str:
    """Text of a subtree: block elements become paragraph breaks, <br> a line break."""
    parts: list[str] = []
    _render_into(node, skip, keep_newlines, parts)
    return _tidy("".join(parts))


def _render_into(node: _Node, skip: frozenset[str], keep_newlines: bool, out: list[str]) -> None:
    for child in node.children:
        if isinstance(child, str):
            out.append(child if keep_newlines else _SPACES.sub(" ", child.replace("\n", " ")))
        elif child.tag in skip:
            continue
        elif child.tag == "br":
            out.append("\n")
        elif child.tag in _BLOCK_TAGS:
            out.append("\n\n")
            _render_into(child, skip, keep_newlines or child.tag == "pre", out)
            out.append("\n\n")
        else:
            _render_into(child, skip, keep_newlines, out)


def _tidy(raw: str) -> str:
    """Collapse whitespace: one blank line between paragraphs, single spaces inside lines."""
    raw = unicodedata.normalize("NFC", raw).translate(_INVISIBLE)
    paragraphs = []
    for paragraph in re.split(r"\n[^\S\n]*\n\s*", raw):
        lines = (" ".join(line.split()) for line in paragraph.split("\n"))
        text = "\n".join(line for line in lines if line)
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


def clean_text(html: str) -> str:
    """Readable text of an HTML fragment (feed content or summary), safe to store.

    Scripts, styles, forms, figures, navigation, comments and CDATA vanish; entities are
    unescaped; block elements become paragraph breaks. Newlines in the source count as breaks
    only when the markup has no block tags of its own (plain-text feeds with a stray <a>).
    """
    if not html:
        return ""
    keep_newlines = not _LINE_BREAK_TAGS.search(html)
    return _render(_parse(html), _SKIP_TAGS | _FURNITURE_TAGS, keep_newlines)


def _text_length(node: _Node) -> tuple[int, int]:
    """(characters of text, characters inside links) of a subtree, skipped tags excluded."""
    total = linked = 0
    for child in node.children:
        if isinstance(child, str):
            total += len(child.strip())
        elif child.tag not in _SKIP_TAGS:
            sub_total, sub_linked = _text_length(child)
            total += sub_total
            linked += sub_total if child.tag == "a" else sub_linked
    return total, linked


def _is_furniture(node: _Node) -> bool:
    if node.tag in _FURNITURE_TAGS or node.tag in _PAGE_FURNITURE_TAGS:
        return True
    if node.tag in ("html", "body", "main", "article"):
        # Themes put "has-sidebar" or "comments-open" on <body>: never prune the page itself.
        return False
    hints = f"{node.attrs.get('class', '')} {node.attrs.get('id', '')} {node.attrs.get('role', '')}"
    return bool(_NEGATIVE_HINTS.search(hints)) and not _POSITIVE_HINTS.search(node.attrs.get("id", ""))


def _prune(node: _Node) -> None:
    """Remove boilerplate regions in place so that they neither score nor render."""
    kept: list[_Node | str] = []
    for child in node.children:
        if isinstance(child, str):
            kept.append(child)
        elif child.tag not in _SKIP_TAGS and not _is_furniture(child):
            _prune(child)
            kept.append(child)
    node.children = kept


def _paragraphs(node: _Node) -> list[_Node]:
    """Paragraph-like elements: <p>, <pre>, <blockquote>, and <div>s holding only inline text
    (many sites write paragraphs as bare divs; Readability treats those as <p> too)."""
    found: list[_Node] = []
    for child in node.children:
        if isinstance(child, _Node):
            if child.tag in ("p", "pre", "blockquote") or (
                child.tag == "div" and not _has_block_child(child)
            ):
                found.append(child)
            else:
                found.extend(_paragraphs(child))
    return found


def _has_block_child(node: _Node) -> bool:
    return any(
        isinstance(child, _Node) and (child.tag in _BLOCK_TAGS or _has_block_child(child))
        for child in node.children
    )


def _best_container(root: _Node) -> _Node | None:
    """The container holding the most paragraph text (parent full, grandparent half)."""
    scores: dict[int, float] = {}
    nodes: dict[int, _Node] = {}
    for paragraph in _paragraphs(root):
        length, linked = _text_length(paragraph)
        if length < 25:
            continue
        # Commas mark real prose; link-heavy paragraphs are menus or "related" lists.
        text = _render(paragraph, _SKIP_TAGS, False)
        score = (1 + text.count(",") + text.count("，") + min(length / 100, 3)) * (1 - linked / length)
        for ancestor, share in ((paragraph.parent, 1.0), (_grandparent(paragraph), 0.5)):
            if ancestor is None or ancestor.tag == "#root":
                continue
            key = id(ancestor)
            nodes[key] = ancestor
            scores[key] = scores.get(key, _container_bonus(ancestor)) + score * share
    if not scores:
        return None
    return nodes[max(scores, key=lambda key: scores[key])]


def _grandparent(node: _Node) -> _Node | None:
    return node.parent.parent if node.parent is not None else None


def _container_bonus(node: _Node) -> float:
    bonus = {"article": 10.0, "main": 5.0}.get(node.tag, 0.0)
    hints = f"{node.attrs.get('class', '')} {node.attrs.get('id', '')}"
    return bonus + (5.0 if _POSITIVE_HINTS.search(hints) else 0.0)


def extract_article_text(html: str) -> str:
    """Main text of a full article web page, without menus, headers, footers and comments.

    Falls back to the whole page's clean text when no paragraph-bearing container is found.
    """
    if not html:
        return ""
    root = _parse(html)
    _prune(root)
    container = _best_container(root)
    if container is None:
        log.debug("no article container found; using the whole page")
        return _render(root, _SKIP_TAGS, False)
    return _render(container, _SKIP_TAGS, False)
