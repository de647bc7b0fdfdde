"""``kb``: the one entry point. Parses, calls the library, prints.

Results go to stdout (``--json``: one JSON document), progress and warnings to
stderr. Library errors become one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path

from kb import render
from kb.base import KnowledgeBase, initialise, reindex
from kb.config import ConfigError, home_dir
from kb.encoders import EncoderError
from kb.index import IndexError_
from kb.inspect import doctor, explain, export, stats, topics
from kb.lock import LockError, LockHeld, exclusive_lock
from kb.search import QueryFilter, query
from kb.store import StoreError, open_store

log = logging.getLogger("kb")

EXAMPLES = """examples:
  kb --home ./kb-data init
  kb --home ./kb-data feeds add https://www.theguardian.com/world/rss
  kb --home ./kb-data ingest --json
  kb --home ./kb-data query "interest rates" -k 5
  kb --home ./kb-data demo          # offline: serves a bundled feed locally, ingests, queries
"""


def common_options() -> argparse.ArgumentParser:
    """``--home`` and ``--json``, accepted after any command too (``kb ingest --json``).

    SUPPRESS defaults: a subcommand sets them only when given, never resets the global ones.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", default=argparse.SUPPRESS, help="data directory")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON document on stdout")  # fmt: skip
    return common


def _parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="kb", description="newskb: a knowledge base built from news feeds.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--home", help="data directory (default: $KB_HOME or ~/.local/share/newskb)")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, func, help, example):
        p = sub.add_parser(name, help=help, description=help, epilog=f"example: {example}",
                           parents=[common])  # fmt: skip
        p.set_defaults(func=func)
        return p

    p = command("init", _init, "create the data directory and an empty store", "kb init --encoder minilm")
    p.add_argument("--encoder", help="default (ours), minilm, hash, or a model directory")
    feeds = command("feeds", None, "add, list or remove feeds", "kb feeds add URL").add_subparsers(
        dest="feeds_command", required=True, metavar="ACTION"
    )
    feeds.add_parser("add", help="add feed URLs", parents=[common]).add_argument(
        "urls", nargs="+", metavar="URL"
    )
    feeds.add_parser("list", help="list feeds and their last status", parents=[common])
    feeds.add_parser("remove", help="stop fetching a feed", parents=[common]).add_argument(
        "url", metavar="URL"
    )
    p = command("ingest", _ingest, "fetch every feed once and store what is new", "kb ingest --json")
    p.add_argument("--wait", type=float, default=None, help="seconds to wait for another run's lock")
    p = command("query", _query, "facts that match a text, with their sources", 'kb query "flood" -k 5')
    p.add_argument("text")
    p.add_argument("-k", type=int, default=10, help="number of facts (default 10)")
    p.add_argument("--since", type=_date, help="only facts first seen on or after DATE (YYYY-MM-DD)")
    p.add_argument("--topic", type=int, help="only facts of this topic id")
    command("topics", _topics, "running topics, busiest first", "kb topics --json")
    command("stats", _stats, "counts of feeds, articles, facts and the last run", "kb stats")
    p = command("explain", _explain, "why a fact was stored and who reported it", "kb explain 42")
    p.add_argument("fact_id", type=int)
    p = command("reindex", _reindex, "rebuild the vector index from the store", "kb reindex")
    p.add_argument("--encoder", help="re-embed every fact with this encoder first")
    command("doctor", _doctor, "check store and index against each other and repair", "kb doctor")
    p = command("export", _export, "write every table as Parquet (a backup)", "kb export backup/")
    p.add_argument("out", type=Path)
    p = command("demo", _demo, "offline demo: serve the bundled feeds, ingest, query", "kb --home d demo")
    p.add_argument("--encoder", help="encoder for a new demo home (default: ours)")
    from eval.cli import add_parser as add_eval_parser

    add_eval_parser(sub)
    return parser


def _date(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _home(args) -> Path:
    return home_dir(args.home)


def _init(args) -> int:
    kb = initialise(_home(args), args.encoder)
    render.emit(args, {"home": str(kb.home), "encoder": kb.config.encoder}, render.init_text)
    return 0


def _feeds(args) -> int:
    home = _home(args)
    with exclusive_lock(home, wait_s=30.0, name="feeds.lock"), open_store(home) as store:
        if args.feeds_command == "add":
            with store.transaction():
                added = [url for url in args.urls if _valid_url(url) and store.add_feed(url)]
            result = {"added": added, "already": [u for u in args.urls if u not in added]}
        elif args.feeds_command == "remove":
            with store.transaction():
                if not store.remove_feed(args.url):
                    raise StoreError(f"no feed {args.url}")
            result = {"removed": args.url}
        else:
            result = {"feeds": store.feeds()}
    render.emit(args, result, render.feeds_text)
    return 0


def _valid_url(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreError(f"not an http(s) feed URL: {url!r}")
    return True


def _ingest(args) -> int:
    from ingest.loop import run_ingest

    kb = KnowledgeBase.open(_home(args))
    if not (kb.home / "kb.duckdb").exists():
        raise StoreError(f"no knowledge base in {kb.home}: run `kb init` first")
    try:
        report = run_ingest(kb, lock_wait_s=args.wait, progress=render.progress(args))
    except LockHeld as exc:
        print(f"kb: {exc}; this run exits without ingesting", file=sys.stderr)
        render.emit(args, {"skipped": "locked", "reason": str(exc)}, lambda r: "")
        return 0
    render.emit(args, report.as_dict(), render.ingest_text)
    return report.exit_code


def _read_only(args):
    return open_store(_home(args), read_only=True)


def _query(args) -> int:
    if args.k < 1:
        raise StoreError(f"-k must be at least 1, got {args.k}")
    if not args.text.strip():
        # an empty text would rank every fact alike and print them all with score 1.0
        raise StoreError("the query text is empty")
    kb = KnowledgeBase.open(_home(args))
    with _read_only(args) as store:
        results = query(kb, store, args.text, args.k, QueryFilter(args.since, args.topic))
    render.emit(args, {"results": results}, render.query_text)
    return 0


def _topics(args) -> int:
    with _read_only(args) as store:
        render.emit(args, {"topics": topics(store)}, render.topics_text)
    return 0


def _stats(args) -> int:
    kb = KnowledgeBase.open(_home(args))
    with _read_only(args) as store:
        render.emit(args, stats(kb, store), render.stats_text)
    return 0


def _explain(args) -> int:
    with _read_only(args) as store:
        render.emit(args, explain(store, args.fact_id), render.explain_text)
    return 0


def _reindex(args) -> int:
    kb = KnowledgeBase.open(_home(args))
    with exclusive_lock(kb.home, wait_s=60.0), open_store(kb.home) as store:
        render.emit(args, reindex(kb, store, args.encoder), render.mapping_text)
    return 0


def _doctor(args) -> int:
    kb = KnowledgeBase.open(_home(args))
    with exclusive_lock(kb.home, wait_s=60.0), open_store(kb.home) as store:
        report = doctor(kb, store)
    render.emit(args, report, render.mapping_text)
    return 0 if report["ok"] else 1


def _export(args) -> int:
    with _read_only(args) as store:
        render.emit(args, {"out": str(args.out), "files": export(store, args.out)}, render.mapping_text)
    return 0


def _demo(args) -> int:
    from ingest.demo import run_demo

    render.emit(args, run_demo(_home(args), args.encoder, render.progress(args)), render.demo_text)
    return 0


ERRORS = (StoreError, ConfigError, EncoderError, IndexError_, LockHeld, LockError, OSError)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr,
    )  # fmt: skip
    func = args.func if args.command != "feeds" else _feeds
    try:
        return func(args)
    except ERRORS as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"kb: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kb: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
