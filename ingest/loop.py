"""The ingestion loop: feeds -> articles -> candidate facts -> known or new.

One feed at a time: fetch (no database held), parse, then one transaction that
stores the feed's new articles, their facts, sources, decisions and topics and
its fetch state; then the vector index is saved. A crash between the commit and
the index save is repaired at the next open (see kb.base). A failing feed is
recorded with a one-line reason and never stops the others.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from ingest.batch import FreshArticle, build_batch
from ingest.facts import candidate_facts
from ingest.fetch import FetchConfig, FetchError, FetchErrorKind, FetchResult, fetch
from ingest.hostguard import HostPolicy
from ingest.parse import FeedEntry, FeedError, ParsedFeed, parse_feed
from ingest.text import clean_text, extract_article_text
from kb.base import KnowledgeBase
from kb.index import VectorIndex
from kb.lock import exclusive_lock
from kb.store import Store, now, open_store

log = logging.getLogger(__name__)

DEFAULT_BACKOFF_S = 3600.0  # after a 429/503 that gives no Retry-After


@dataclass
class IngestReport:
    """The counts ``kb ingest --json`` prints (keys are the CLI contract)."""

    feeds: dict[str, int] = field(
        default_factory=lambda: {"ok": 0, "not_modified": 0, "failed": 0, "skipped": 0}
    )
    articles: dict[str, int] = field(default_factory=lambda: {"new": 0, "seen": 0})
    facts: dict[str, int] = field(default_factory=lambda: {"new": 0, "known": 0})
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "feeds": self.feeds, "articles": self.articles, "facts": self.facts,
            "errors": self.errors, "warnings": self.warnings, "repairs": self.repairs,
        }  # fmt: skip

    @property
    def exit_code(self) -> int:
        """1 when every feed that was tried failed, else 0."""
        read = self.feeds["ok"] + self.feeds["not_modified"]
        return 1 if self.feeds["failed"] and not read else 0


def content_hash(title: str, text: str) -> str:
    normalised = " ".join(f"{title}\n{text}".lower().split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def run_ingest(kb: KnowledgeBase, *, lock_wait_s: float | None = None, progress=None) -> IngestReport:
    """Fetch every live feed once and store what is new. Holds the home's ingest lock."""
    wait = kb.config.lock_wait_s if lock_wait_s is None else lock_wait_s
    with exclusive_lock(kb.home, wait):
        return _run_locked(kb, progress)


def _run_locked(kb: KnowledgeBase, progress) -> IngestReport:
    report = IngestReport()
    with open_store(kb.home) as store:
        kb.check_encoder(store)
        index, report.repairs = kb.load_index(store)
        if report.repairs:
            kb.save_index(index, store)
        feeds = store.feeds()
        with store.transaction():
            run_id = store.start_run()
    policy = HostPolicy.from_config(kb.config.allow_hosts)
    fetch_config = _fetch_config(kb.config)
    due = [feed for feed in feeds if not _resting(feed)]
    report.feeds["skipped"] += len(feeds) - len(due)
    for fetched in _fetched_in_order(due, kb.config.fetch_workers, policy, fetch_config):
        if progress:
            progress(fetched.feed["url"])
        _ingest_feed(kb, index, fetched, policy, fetch_config, report)
    with open_store(kb.home) as store, store.transaction():
        store.finish_run(run_id, {
            "feeds_ok": report.feeds["ok"], "feeds_not_modified": report.feeds["not_modified"],
            "feeds_failed": report.feeds["failed"], "articles_new": report.articles["new"],
            "articles_seen": report.articles["seen"], "facts_new": report.facts["new"],
            "facts_known": report.facts["known"],
        })  # fmt: skip
    return report


def _fetch_config(config) -> FetchConfig:
    """Fetch limits from the KB config; a whole fetch gets three read timeouts (slow loris cut)."""
    timeout = config.fetch_timeout_s
    return FetchConfig(
        read_timeout_s=timeout,
        total_timeout_s=3 * timeout,
        max_bytes=config.max_feed_bytes,
        max_decompressed_bytes=config.max_feed_bytes,
    )


def _resting(feed: dict) -> bool:
    """Gone (404/410) or backing off after a 429/503: not fetched this run."""
    return bool(feed["gone"] or (feed["retry_after"] and feed["retry_after"] > now()))


@dataclass
class _Fetched:
    """One feed's fetch and parse: a result and its parsed feed (None on 304), or an error."""

    feed: dict
    result: FetchResult | None = None
    parsed: ParsedFeed | None = None
    error: FetchError | FeedError | None = None


def _fetch_and_parse(feed: dict, policy: HostPolicy, fetch_config: FetchConfig) -> _Fetched:
    try:
        result = fetch(feed["url"], etag=feed["etag"], last_modified=feed["last_modified"],
                       config=fetch_config, policy=policy)  # fmt: skip
        parsed = parse_feed(result.body, result.url, result.content_type) if result.status == 200 else None
    except (FetchError, FeedError) as exc:
        return _Fetched(feed, error=exc)
    return _Fetched(feed, result, parsed)


def _fetched_in_order(feeds: list[dict], workers: int, policy, fetch_config) -> Iterator[_Fetched]:
    """Fetch ``workers`` feeds at a time in threads (network time overlaps), yielding in feed
    order so a run's outcome never depends on which server answered first. At most
    2 x ``workers`` bodies are held at once."""
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fetch") as pool:
        pending: deque = deque()
        for feed in feeds:
            pending.append(pool.submit(_fetch_and_parse, feed, policy, fetch_config))
            if len(pending) >= 2 * max(1, workers):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _ingest_feed(
    kb, index: VectorIndex, fetched: _Fetched, policy, fetch_config, report: IngestReport
) -> None:
    feed, result, parsed = fetched.feed, fetched.result, fetched.parsed
    url = feed["url"]
    if fetched.error is not None:
        _record_failure(kb, feed, fetched.error, report)
        return
    if result.status == 304:
        _record(kb, feed["id"], "not_modified", moved_to=result.permanent_url)
        report.feeds["not_modified"] += 1
        return
    report.warnings += [{"feed": url, "warning": warning} for warning in parsed.warnings]
    with open_store(kb.home) as store:
        unseen = _unseen_entries(store, feed["id"], parsed.entries, report)
    # Pages are fetched with no database held, and only for articles not stored yet.
    fresh = [_fresh_article(entry, text, digest, policy, fetch_config, kb) for entry, text, digest in unseen]
    state = {"etag": result.etag, "last_modified": result.last_modified, "title": parsed.title,
             "last_error": None, "last_warning": "; ".join(parsed.warnings)[:1000] or None}  # fmt: skip
    with open_store(kb.home) as store:
        with store.transaction():
            batch = build_batch(store, index, kb.encoder, fresh, feed["id"], kb.novelty(),
                                kb.config.topic_threshold)  # fmt: skip
            batch.write(store)
            store.record_fetch(feed["id"], "ok", moved_to=result.permanent_url, **state)
        index.add(np.array(batch.new_ids, np.int64), batch.vectors(index.dim))
        kb.save_index(index, store)
    report.feeds["ok"] += 1
    report.articles["new"] += len(fresh)
    report.facts["new"] += len(batch.new_ids)
    report.facts["known"] += batch.known


def _unseen_entries(store: Store, feed_id: int, entries: list[FeedEntry], report: IngestReport):
    """(entry, feed text, content hash) of entries not stored yet (by GUID, URL or content hash)."""
    unseen, hashes = [], set()
    for entry in entries:
        text = clean_text(entry.html)
        digest = content_hash(entry.title, text)
        if digest in hashes or store.article_seen(feed_id, entry.guid, entry.url, digest):
            report.articles["seen"] += 1
            continue
        hashes.add(digest)
        unseen.append((entry, text, digest))
    return unseen


def _fresh_article(entry: FeedEntry, text: str, digest: str, policy, fetch_config, kb) -> FreshArticle:
    if kb.config.fetch_pages and entry.url:
        text = _page_text(entry.url, policy, fetch_config) or text
    published = entry.published.replace(tzinfo=None) if entry.published else None
    return FreshArticle(entry.guid, entry.url, entry.title, published, text, digest,
                        candidate_facts(text, entry.title))  # fmt: skip


def _page_text(url: str, policy, fetch_config) -> str:
    """The main text of an article's web page ("" when it cannot be had)."""
    try:
        page = fetch(url, config=fetch_config, policy=policy)
    except FetchError as exc:
        log.info("page of %s not fetched: %s", url, exc)
        return ""
    return extract_article_text(page.body.decode("utf-8", "replace")) if page.body else ""


def _record(kb, feed_id: int, status: str, **fields) -> None:
    with open_store(kb.home) as store, store.transaction():
        store.record_fetch(feed_id, status, **fields)


def _record_failure(kb, feed: dict, exc: Exception, report: IngestReport) -> None:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    fields: dict = {"last_error": reason}
    status = "failed"
    if isinstance(exc, FetchError) and exc.kind == FetchErrorKind.GONE:
        status, fields["gone"] = "gone", True
    elif isinstance(exc, FetchError) and exc.kind == FetchErrorKind.RATE_LIMITED:
        # No Retry-After header still means "not now": back off a default hour.
        wait_s = exc.retry_after_s if exc.retry_after_s is not None else DEFAULT_BACKOFF_S
        status, fields["retry_after"] = "backoff", now() + timedelta(seconds=wait_s)
    _record(kb, feed["id"], status, **fields)
    report.feeds["failed"] += 1
    report.errors.append({"feed": feed["url"], "error": reason})
    log.warning("%s: %s", feed["url"], reason)
