"""How the CLI shows results: one JSON document, or short human text."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date, datetime

NO_FEEDS = "no feeds yet: kb feeds add URL"


def _default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def to_json(data) -> str:
    return json.dumps(data, default=_default, ensure_ascii=False, indent=2)


def emit(args, data, text: Callable[[dict], str]) -> None:
    """Print ``data`` as JSON with ``--json``, else as ``text(data)``."""
    if getattr(args, "json", False):
        print(to_json(data))
    else:
        out = text(data)
        if out:
            print(out)


def progress(args) -> Callable[[str], None] | None:
    """A per-feed progress line on stderr when it is a terminal (never on stdout)."""
    if not sys.stderr.isatty():
        return None
    return lambda url: print(f"\r\033[Kfetching {url[:100]}", end="", file=sys.stderr, flush=True)


def _short(day) -> str:
    return day.date().isoformat() if isinstance(day, datetime) else (str(day) if day else "-")


def init_text(r: dict) -> str:
    return f"knowledge base ready in {r['home']} (encoder: {r['encoder']})"


def feeds_text(r: dict) -> str:
    if "feeds" not in r:
        return "\n".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in r.items() if v)
    lines = []
    for f in r["feeds"]:
        status = f["last_status"] or "never fetched"
        note = f.get("last_error") or f.get("last_warning")
        error = f"  ({note})" if note else ""
        lines.append(f"{f['id']:>4}  {status:<12} {f['articles']:>5} articles  {f['url']}{error}")
    return "\n".join(lines) or NO_FEEDS


def ingest_text(r: dict) -> str:
    f, a, k = r["feeds"], r["articles"], r["facts"]
    lines = [
        f"feeds: {f['ok']} ok, {f['not_modified']} not modified, {f['failed']} failed, "
        f"{f['skipped']} skipped",
        f"articles: {a['new']} new, {a['seen']} already seen",
        f"facts: {k['new']} new, {k['known']} already known (source added)",
    ]
    lines += [f"repaired: {x}" for x in r["repairs"]]
    lines += [f"failed: {e['feed']}: {e['error']}" for e in r["errors"]]
    if not any(f.values()):
        lines.append(NO_FEEDS)
    return "\n".join(lines)


def _sources(fact: dict) -> list[str]:
    return [f"      - {s['title'] or '(untitled)'} ({_short(s['published'])}) {s['url'] or ''}"
            for s in fact["sources"]]  # fmt: skip


def query_text(r: dict) -> str:
    if not r["results"]:
        return "no matching facts"
    lines = []
    for hit in r["results"]:
        lines.append(f"[{hit['fact_id']}] {hit['score']:.3f}  {hit['text']}")
        lines.append(f"      first seen {_short(hit['first_seen'])}, topic {hit['topic']}, "
                     f"{len(hit['sources'])} source(s)")  # fmt: skip
        lines += _sources(hit)
    return "\n".join(lines)


def topics_text(r: dict) -> str:
    rows = [f"{t['id']:>4}  {t['articles']:>3} articles {t['facts']:>4} facts  {t['label']}"
            f"  [{', '.join((t['key_phrases'] or [])[:4])}]" for t in r["topics"]]  # fmt: skip
    return "\n".join(rows) or "no topics yet"


def stats_text(r: dict) -> str:
    counts = ", ".join(f"{v} {k}" for k, v in r["counts"].items())
    last = r["last_run"]
    run = f"last run {last['started_at']}: {last['facts_new']} new facts" if last else "never ingested"
    return f"{r['home']} (encoder {r['encoder']})\n{counts}\n{run}"


def explain_text(r: dict) -> str:
    lines = [f"[{r['fact_id']}] {r['text']}", f"first seen {_short(r['first_seen'])}, "
             f"topic {r['topic']}, encoder {r['encoder']}", "sources:"]  # fmt: skip
    lines += _sources(r)
    lines.append("decisions:")
    for d in r["decisions"]:
        near = (
            f"nearest #{d['nearest_fact_id']} at {d['nearest_score']:.3f}"
            if d["nearest_fact_id"]
            else "no neighbour"
        )
        lines.append(f"  {d['verdict']:<5} from {d['article']!r}: {near}; {d['reason']}")
    return "\n".join(lines)


def mapping_text(r: dict) -> str:
    return "\n".join(f"{k}: {v}" for k, v in r.items())


def demo_text(r: dict) -> str:
    return "\n\n".join([f"demo home: {r['home']}", ingest_text(r["ingest"]),
                        f'query: "{r["query"]}"', query_text(r)])  # fmt: skip
