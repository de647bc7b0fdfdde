"""Read-side views of a store: stats, topics, explain, doctor, export."""

from __future__ import annotations

import logging
from pathlib import Path

from kb.base import KnowledgeBase
from kb.store import Store, StoreError

log = logging.getLogger(__name__)

COUNTED_TABLES = ("feeds", "articles", "facts", "fact_sources", "topics", "decisions", "ingest_runs")


def stats(kb: KnowledgeBase, store: Store) -> dict:
    """Counts a user checks first, plus the last run and the encoder in use."""
    counts = {name: store.scalar(f"SELECT count(*) FROM {name}") for name in COUNTED_TABLES}
    last = store.rows("SELECT * FROM ingest_runs ORDER BY id DESC LIMIT 1")
    return {
        "home": str(kb.home),
        "encoder": store.meta("encoder") or kb.config.encoder,
        "schema_version": store.schema_version(),
        "counts": counts,
        "facts_with_several_sources": store.scalar(
            "SELECT count(*) FROM (SELECT fact_id FROM fact_sources GROUP BY fact_id HAVING count(*) > 1)"
        ),
        "feeds_failing": store.scalar(
            "SELECT count(*) FROM feeds WHERE last_status IN ('failed', 'gone', 'backoff')"
        ),
        "last_run": last[0] if last else None,
    }


def topics(store: Store, limit: int = 50) -> list[dict]:
    """Running topics, the busiest first, with their key phrases and a sample headline."""
    return store.rows(
        "SELECT t.id, t.label, t.key_phrases, t.n_articles AS articles, "
        "(SELECT count(*) FROM facts f WHERE f.topic_id = t.id) AS facts, t.first_seen, t.last_seen, "
        "(SELECT a.title FROM articles a WHERE a.topic_id = t.id ORDER BY a.id LIMIT 1) AS example "
        "FROM topics t ORDER BY t.n_articles DESC, t.last_seen DESC LIMIT ?",
        [limit],
    )


def explain(store: Store, fact_id: int) -> dict:
    """A fact, its sources, and every decision that created or matched it."""
    facts = store.facts_with_sources([fact_id])
    if fact_id not in facts:
        raise StoreError(f"no fact with id {fact_id}")
    decisions = store.rows(
        "SELECT d.verdict, d.candidate, d.nearest_fact_id, d.nearest_score, d.reason, d.decided_at, "
        "a.title AS article, a.url FROM decisions d JOIN articles a ON a.id = d.article_id "
        "WHERE d.fact_id = ? ORDER BY d.id",
        [fact_id],
    )
    return {**facts[fact_id], "encoder": store.scalar("SELECT encoder FROM facts WHERE id = ?", [fact_id]),
            "decisions": decisions}  # fmt: skip


def doctor(kb: KnowledgeBase, store: Store) -> dict:
    """Check the store against itself and the index; repair the index. Returns findings."""
    problems = []
    checks = {
        "facts without a source": "SELECT count(*) FROM facts f WHERE NOT EXISTS "
        "(SELECT 1 FROM fact_sources s WHERE s.fact_id = f.id)",
        "sources of missing facts": "SELECT count(*) FROM fact_sources s WHERE NOT EXISTS "
        "(SELECT 1 FROM facts f WHERE f.id = s.fact_id)",
        "facts stored twice": "SELECT count(*) - count(DISTINCT id) FROM facts",
        "articles stored twice": "SELECT count(*) - count(DISTINCT content_hash) FROM articles",
        "facts of another encoder": "SELECT count(*) FROM facts WHERE encoder <> coalesce("
        "(SELECT value FROM meta WHERE key = 'encoder'), encoder)",
    }
    for name, sql in checks.items():
        found = store.scalar(sql)
        if found:
            problems.append(f"{found} {name}")
    index, repairs = kb.load_index(store)
    if repairs or not kb.index_path.exists():
        kb.save_index(index, store)
    return {"ok": not problems, "problems": problems, "repaired": repairs,
            "facts": store.scalar("SELECT count(*) FROM facts"), "vectors": len(index)}  # fmt: skip


def export(store: Store, out: Path) -> list[str]:
    """Every table as Parquet plus the schema, via DuckDB's EXPORT DATABASE (a consistent copy)."""
    if out.exists() and any(out.iterdir()):
        raise StoreError(f"{out} is not empty: export needs a new or empty directory")
    out.mkdir(parents=True, exist_ok=True)
    store.con.execute(f"EXPORT DATABASE '{_sql_path(out)}' (FORMAT parquet)")
    return sorted(p.name for p in out.iterdir())


def _sql_path(path: Path) -> str:
    """A path as a SQL string literal body (EXPORT takes no parameters)."""
    return str(path.resolve()).replace("'", "''")
