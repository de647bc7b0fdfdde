"""The DuckDB schema, as ordered migrations (like sqlite-utils' Migrations).

Each migration runs once, in order, inside the transaction that records it in
``schema_migrations``; a store opened by newer code is brought up to date at
open. Never edit a migration that has shipped: add a new one.

Ids are assigned by the single writer (``max(id) + 1`` under the ingest lock),
so there are no sequences whose state a crash could lose.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "initial schema",
        """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE feeds (
            id             INTEGER PRIMARY KEY,
            url            TEXT NOT NULL,      -- the URL to fetch (updated after a 301)
            title          TEXT,
            added_at       TIMESTAMP NOT NULL,
            etag           TEXT,               -- for If-None-Match
            last_modified  TEXT,               -- for If-Modified-Since
            last_fetched   TIMESTAMP,
            last_status    TEXT,               -- ok | not_modified | failed | gone | backoff
            last_error     TEXT,               -- one-line reason of the last failure
            retry_after    TIMESTAMP,          -- do not fetch before (429/503 Retry-After)
            gone           BOOLEAN NOT NULL DEFAULT false  -- 404/410: skipped until re-added
        );
        CREATE TABLE topics (
            id            INTEGER PRIMARY KEY,
            label         TEXT NOT NULL,
            key_phrases   TEXT[],
            centroid_sum  FLOAT[],            -- sum of member article vectors (mean = sum / n)
            n_articles    INTEGER NOT NULL,
            first_seen    TIMESTAMP NOT NULL,
            last_seen     TIMESTAMP NOT NULL
        );
        CREATE TABLE articles (
            id            INTEGER PRIMARY KEY,
            feed_id       INTEGER NOT NULL,
            guid          TEXT,
            url           TEXT,
            title         TEXT,
            published     TIMESTAMP,
            text          TEXT NOT NULL,
            content_hash  TEXT NOT NULL,       -- sha256 of the normalised title + text
            key_phrases   TEXT[],
            topic_id      INTEGER,
            fetched_at    TIMESTAMP NOT NULL
        );
        CREATE TABLE facts (
            id          INTEGER PRIMARY KEY,
            text        TEXT NOT NULL,
            first_seen  TIMESTAMP NOT NULL,
            topic_id    INTEGER,
            article_id  INTEGER NOT NULL,      -- the article that first stated it
            encoder     TEXT NOT NULL,         -- the encoder that made its vector
            vector      FLOAT[] NOT NULL       -- unit vector; FAISS is rebuilt from these
        );
        CREATE TABLE fact_sources (
            fact_id     INTEGER NOT NULL,
            article_id  INTEGER NOT NULL,
            score       DOUBLE NOT NULL,       -- cosine of this article's sentence to the fact
            sentence    TEXT NOT NULL,         -- the sentence as this source wrote it
            added_at    TIMESTAMP NOT NULL,
            PRIMARY KEY (fact_id, article_id)
        );
        CREATE TABLE decisions (
            id               INTEGER PRIMARY KEY,
            article_id       INTEGER NOT NULL,
            candidate        TEXT NOT NULL,
            verdict          TEXT NOT NULL,    -- new | known
            fact_id          INTEGER NOT NULL, -- the fact inserted, or the known fact
            nearest_fact_id  INTEGER,          -- nearest fact at decision time
            nearest_score    DOUBLE,
            reason           TEXT NOT NULL,
            decided_at       TIMESTAMP NOT NULL
        );
        CREATE TABLE ingest_runs (
            id                  INTEGER PRIMARY KEY,
            started_at          TIMESTAMP NOT NULL,
            finished_at         TIMESTAMP,
            feeds_ok            INTEGER NOT NULL DEFAULT 0,
            feeds_not_modified  INTEGER NOT NULL DEFAULT 0,
            feeds_failed        INTEGER NOT NULL DEFAULT 0,
            articles_new        INTEGER NOT NULL DEFAULT 0,
            articles_seen       INTEGER NOT NULL DEFAULT 0,
            facts_new           INTEGER NOT NULL DEFAULT 0,
            facts_known         INTEGER NOT NULL DEFAULT 0
        );
        """,
    ),
    (
        "feeds remember their last warning",
        """
        -- a feed read despite a problem (recovered XML, empty, future dates) says so in `kb feeds list`
        ALTER TABLE feeds ADD COLUMN last_warning TEXT;
        """,
    ),
]
