"""DuckDB persistence: feeds, articles, facts, their sources, topics, runs.

DuckDB lets one process write a file, and while it does no other process may
even read it. So a writer holds its connection only for one short transaction
batch (one feed), and every open retries for a bounded time when another
process holds the file: ``kb query`` and ``kb stats`` slip in between the
feeds of a running ingest. All SQL is parameterised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np

from kb.migrations import MIGRATIONS

log = logging.getLogger(__name__)

DB_NAME = "kb.duckdb"


class StoreError(Exception):
    """A store that cannot be opened or used as asked."""


class StoreBusy(StoreError):
    """Another process held the database for longer than we would wait."""


def now() -> datetime:
    """Current UTC time, naive (DuckDB TIMESTAMP has no zone; all stored times are UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def db_path(home: Path) -> Path:
    return home / DB_NAME


def _connect(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            message = str(exc)
            if "lock" not in message.lower():
                raise StoreError(f"{path}: {message.splitlines()[0]}") from exc
            if time.monotonic() >= deadline:
                raise StoreBusy(
                    f"{path} is held by another newskb process (an ingest?); tried for {wait_s:.0f} s"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        except duckdb.Error as exc:
            raise StoreError(f"{path}: {str(exc).splitlines()[0]}") from exc


@contextmanager
def open_store(home: Path, *, read_only: bool = False, wait_s: float = 60.0) -> Iterator[Store]:
    """A store on ``home``'s database, migrated when opened for writing."""
    path = db_path(home)
    if read_only and not path.exists():
        raise StoreError(f"no knowledge base in {home}: run `kb init` first")
    if not read_only:
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {home}: {exc.strerror}") from exc
    con = _connect(path, read_only, wait_s)
    try:
        store = Store(con, path, read_only)
        if not read_only:
            store.migrate()
        yield store
    finally:
        con.close()


class Store:
    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool = False):
        self.con = con
        self.path = path
        self.read_only = read_only

    # -- plumbing ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic batch; on success it is checkpointed so the WAL never carries it."""
        self.con.begin()
        try:
            yield
        except BaseException:
            self.con.rollback()
            raise
        try:
            self.con.commit()
            # Why: replaying a WAL after a crash has lost index entries in DuckDB 1.x;
            # folding each batch into the main file keeps recovery trivial.
            self.con.execute("CHECKPOINT")
        except duckdb.Error as exc:  # disk full, read-only file: committed work stays in the WAL
            raise StoreError(f"cannot write {self.path}: {str(exc).splitlines()[0]}") from exc

    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded; returns their names."""
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        done = {row[0] for row in self.con.execute("SELECT version FROM schema_migrations").fetchall()}
        applied = []
        for version, (name, sql) in enumerate(MIGRATIONS, start=1):
            if version in done:
                continue
            with self.transaction():
                self.con.execute(sql)
                self.con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, now()])
            log.info("applied migration %d: %s", version, name)
            applied.append(name)
        return applied

    def schema_version(self) -> int:
        return self.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations")

    def scalar(self, sql: str, params: list | None = None):
        row = self.con.execute(sql, params or []).fetchone()
        return row[0] if row else None

    def rows(self, sql: str, params: list | None = None) -> list[dict]:
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def next_id(self, table: str) -> int:
        """Next id for ``table`` (a fixed name from this module, never user input)."""
        return int(self.scalar(f"SELECT coalesce(max(id), 0) + 1 FROM {table}"))

    # -- meta -------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        return self.scalar("SELECT value FROM meta WHERE key = ?", [key])

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    # -- feeds ------------------------------------------------------------------------------
    def add_feed(self, url: str) -> bool:
        """Add ``url``; False when it was already there (a gone feed is revived)."""
        existing = self.scalar("SELECT id FROM feeds WHERE url = ?", [url])
        if existing is not None:
            self.con.execute("UPDATE feeds SET gone = false, retry_after = NULL WHERE id = ?", [existing])
            return False
        self.con.execute(
            "INSERT INTO feeds (id, url, added_at) VALUES (?, ?, ?)",
            [self.next_id("feeds"), url, now()],
        )
        return True

    def remove_feed(self, url: str) -> bool:
        """Stop fetching ``url``; its articles and facts stay (they are provenance)."""
        found = self.scalar("SELECT id FROM feeds WHERE url = ?", [url])
        if found is None:
            return False
        self.con.execute("DELETE FROM feeds WHERE id = ?", [found])
        return True

    def feeds(self) -> list[dict]:
        return self.rows(
            "SELECT f.*, (SELECT count(*) FROM articles a WHERE a.feed_id = f.id) AS articles "
            "FROM feeds f ORDER BY f.id"
        )

    def record_fetch(self, feed_id: int, status: str, moved_to: str | None = None, **fields) -> None:
        """Update a feed's fetch state: ``status`` plus any of the feeds columns.

        ``moved_to``: the address a permanent redirect gave; remembered unless another
        feed already has it.
        """
        allowed = {"title", "etag", "last_modified", "last_error", "last_warning", "retry_after", "gone"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"not feed state columns: {sorted(bad)}")
        if moved_to and not self.scalar("SELECT count(*) FROM feeds WHERE url = ?", [moved_to]):
            fields["url"] = moved_to
        sets = ["last_status = ?", "last_fetched = ?"] + [f"{name} = ?" for name in fields]
        self.con.execute(
            f"UPDATE feeds SET {', '.join(sets)} WHERE id = ?",
            [status, now(), *fields.values(), feed_id],
        )

    # -- articles, facts, sources, decisions ------------------------------------------------
    def article_seen(self, feed_id: int, guid: str | None, url: str | None, content_hash: str) -> bool:
        """True when this feed's GUID, the URL or the content hash is already stored."""
        return bool(
            self.scalar(
                "SELECT count(*) FROM articles WHERE content_hash = ? "
                "OR (url IS NOT NULL AND url = ?) OR (feed_id = ? AND guid IS NOT NULL AND guid = ?)",
                [content_hash, url, feed_id, guid],
            )
        )

    def bulk_insert(self, table: str, rows: list[dict]) -> None:
        """Insert rows (dicts keyed by column) into ``table`` (a fixed name) in one statement."""
        if not rows:
            return
        import pandas as pd

        frame = pd.DataFrame(rows)  # noqa: F841 - DuckDB reads the local by name
        self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")

    def fact_ids(self) -> np.ndarray:
        """Every fact id, int64, ascending."""
        return np.asarray(self.con.execute("SELECT id FROM facts ORDER BY id").fetchnumpy()["id"], np.int64)

    def fact_vectors(self, ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64, vectors float32) of all facts, or of ``ids``."""
        where, params = ("WHERE id IN (SELECT unnest(?))", [ids]) if ids is not None else ("", [])
        rows = self.con.execute(f"SELECT id, vector FROM facts {where} ORDER BY id", params).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return (
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.float32),
        )

    def fact_texts(self) -> tuple[list[int], list[str]]:
        rows = self.con.execute("SELECT id, text FROM facts ORDER BY id").fetchall()
        return [r[0] for r in rows], [r[1] for r in rows]

    def facts_with_sources(self, ids: list[int]) -> dict[int, dict]:
        """Facts by id, each with its sources (title, url, published), oldest source first."""
        if not ids:
            return {}
        facts = {
            row["fact_id"]: {**row, "sources": []}
            for row in self.rows(
                "SELECT id AS fact_id, text, first_seen, topic_id AS topic FROM facts "
                "WHERE id IN (SELECT unnest(?))",
                [ids],
            )
        }
        for row in self.rows(
            "SELECT s.fact_id, a.title, a.url, a.published, f.url AS feed, s.score "
            "FROM fact_sources s JOIN articles a ON a.id = s.article_id "
            "LEFT JOIN feeds f ON f.id = a.feed_id "
            "WHERE s.fact_id IN (SELECT unnest(?)) ORDER BY s.added_at, a.id",
            [ids],
        ):
            facts[row.pop("fact_id")]["sources"].append(row)
        return facts

    # -- topics -----------------------------------------------------------------------------
    def topic_centroids(self) -> tuple[list[int], np.ndarray]:
        """(ids, member-vector sums (n, dim)) of every topic that has a centroid."""
        rows = self.con.execute(
            "SELECT id, centroid_sum FROM topics WHERE centroid_sum IS NOT NULL ORDER BY id"
        ).fetchall()
        if not rows:
            return [], np.zeros((0, 0), np.float32)
        return [r[0] for r in rows], np.array([r[1] for r in rows], np.float32)

    def add_topic(self, label: str, key_phrases: list[str], vector: np.ndarray) -> int:
        topic_id = self.next_id("topics")
        stamp = now()
        self.con.execute(
            "INSERT INTO topics VALUES (?, ?, ?, ?, 1, ?, ?)",
            [topic_id, label, key_phrases, vector.astype(np.float32).tolist(), stamp, stamp],
        )
        return topic_id

    def join_topic(self, topic_id: int, centroid_sum: np.ndarray) -> None:
        self.con.execute(
            "UPDATE topics SET centroid_sum = ?, n_articles = n_articles + 1, last_seen = ? WHERE id = ?",
            [centroid_sum.astype(np.float32).tolist(), now(), topic_id],
        )

    # -- runs -------------------------------------------------------------------------------
    def start_run(self) -> int:
        run_id = self.next_id("ingest_runs")
        self.con.execute("INSERT INTO ingest_runs (id, started_at) VALUES (?, ?)", [run_id, now()])
        return run_id

    def finish_run(self, run_id: int, counts: dict[str, int]) -> None:
        columns = ", ".join(f"{name} = ?" for name in counts)
        self.con.execute(
            f"UPDATE ingest_runs SET finished_at = ?, {columns} WHERE id = ?",
            [now(), *counts.values(), run_id],
        )
