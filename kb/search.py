"""``kb query``: hybrid retrieval over the stored facts.

Dense candidates come from FAISS (or, under a ``--since``/``--topic`` filter,
from an exact scan of the filtered facts' stored vectors), lexical ones from
BM25 over the fact texts; the two are fused by a convex combination of
min-max-normalised scores (kb.fusion), weight ``dense_weight`` in the config.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from kb.base import KnowledgeBase
from kb.fusion import convex_fusion, ranked
from kb.index import VectorIndex
from kb.lexical import BM25Index
from kb.store import Store

log = logging.getLogger(__name__)

CANDIDATES = 100  # per system, before fusion
BM25_DIR = Path("index") / "bm25"


@dataclass
class QueryFilter:
    since: datetime | None = None
    topic: int | None = None

    def active(self) -> bool:
        return self.since is not None or self.topic is not None


def _allowed_ids(store: Store, where: QueryFilter) -> list[int]:
    clauses, params = [], []
    if where.since is not None:
        clauses.append("first_seen >= ?")
        params.append(where.since)
    if where.topic is not None:
        clauses.append("topic_id = ?")
        params.append(where.topic)
    sql = "SELECT id FROM facts WHERE " + " AND ".join(clauses) + " ORDER BY id"
    return [row[0] for row in store.con.execute(sql, params).fetchall()]


def _stored_cosines(store: Store, ids: list[int], vector: np.ndarray) -> dict[int, float]:
    """Exact cosine of ``vector`` to the stored vectors of facts ``ids``."""
    found, vectors = store.fact_vectors(ids) if ids else (np.zeros(0, np.int64), None)
    if not len(found):
        return {}
    return {int(i): float(v) for i, v in zip(found, vectors @ vector, strict=True)}


def _dense(
    store: Store, index: VectorIndex, vector: np.ndarray, allowed: list[int] | None
) -> dict[int, float]:
    """The dense top candidates: FAISS, or an exact scan of the filtered facts."""
    if allowed is None:
        scores, ids = index.search(vector[None, :], CANDIDATES)
        return {int(i): float(s) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0}
    return _top(_stored_cosines(store, allowed, vector))


def fact_bm25(kb: KnowledgeBase, store: Store) -> tuple[np.ndarray, BM25Index]:
    """BM25 over every fact's text, cached in ``HOME/index/bm25`` until the facts change."""
    stamp = f"{store.scalar('SELECT count(*) FROM facts')}-{store.scalar('SELECT max(id) FROM facts')}"
    cache = kb.home / BM25_DIR
    try:
        if (cache / "stamp").read_text() == stamp:
            return np.load(cache / "ids.npy", allow_pickle=False), BM25Index.load(cache)
    except (OSError, ValueError, KeyError) as exc:
        log.info("BM25 cache unusable, rebuilding: %s", exc)
    ids, texts = store.fact_texts()
    index = BM25Index(texts)
    if ids:
        _save_bm25(cache, stamp, np.array(ids, np.int64), index)
    return np.array(ids, np.int64), index


def _save_bm25(cache: Path, stamp: str, ids: np.ndarray, index: BM25Index) -> None:
    """Build beside the cache, then swap it in; a failure only costs a rebuild next time."""
    tmp = cache.with_name(f"{cache.name}.tmp-{os.getpid()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        index.save(tmp)
        np.save(tmp / "ids.npy", ids, allow_pickle=False)
        (tmp / "stamp").write_text(stamp)
        shutil.rmtree(cache, ignore_errors=True)
        os.replace(tmp, cache)
    except OSError as exc:  # read-only home, a concurrent rebuild: the query still works
        log.warning("BM25 cache not saved: %s", exc)
        shutil.rmtree(tmp, ignore_errors=True)


def _lexical(kb: KnowledgeBase, store: Store, text: str, allowed: list[int] | None) -> dict[int, float]:
    """BM25 score of every fact (those with a positive score), restricted to ``allowed``."""
    ids, bm25 = fact_bm25(kb, store)
    if not len(ids):
        return {}
    scores = bm25.scores(text)
    keep = (scores > 0) & (np.ones(len(ids), bool) if allowed is None else np.isin(ids, allowed))
    return {int(i): float(v) for i, v in zip(ids[keep], scores[keep], strict=True)}


def _top(scores: dict[int, float]) -> dict[int, float]:
    return dict(ranked(scores, CANDIDATES))


def query(kb: KnowledgeBase, store: Store, text: str, k: int = 10,
          where: QueryFilter | None = None) -> list[dict]:  # fmt: skip
    """The k facts best matching ``text``, each with score, first-seen date and sources.

    Candidates are the union of each system's top 100; both systems score every candidate
    before min-max normalisation over the union (as ``eval.retrieval`` does on BEIR, where
    ``dense_weight`` was chosen).
    """
    where = where or QueryFilter()
    kb.check_encoder(store)
    index, _ = kb.load_index(store)
    allowed = _allowed_ids(store, where) if where.active() else None
    vector = kb.encoder.encode([text])[0]
    dense = _dense(store, index, vector, allowed)
    lexical_all = _lexical(kb, store, text, allowed)
    union = dense.keys() | _top(lexical_all).keys()
    dense |= _stored_cosines(store, sorted(union - dense.keys()), vector)
    lexical = {fact_id: lexical_all.get(fact_id, 0.0) for fact_id in union}
    best = ranked(convex_fusion({i: dense[i] for i in union}, lexical, kb.config.dense_weight), k)
    facts = store.facts_with_sources([fact_id for fact_id, _ in best])
    return [{**facts[fact_id], "score": round(score, 4)} for fact_id, score in best]
