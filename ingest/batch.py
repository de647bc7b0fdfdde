"""One feed's new articles turned into rows: articles, facts, sources, decisions.

Candidates are compared with the facts stored before this feed (one FAISS
search for the whole batch) and with the facts this batch has already accepted
(an exact dot product), so two articles of the same feed that state one fact
yield one fact with two sources. Rows are written in bulk by the caller inside
one transaction, and the new vectors join the index only after it commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingest.topics import assign_topic, key_phrases
from kb.encoders import l2_normalize
from kb.index import VectorIndex
from kb.novelty import NoveltyConfig, decide
from kb.store import Store, now

NEIGHBOURS = 5  # known facts compared with each candidate, nearest first


@dataclass
class FreshArticle:
    guid: str | None
    url: str | None
    title: str
    published: object
    text: str
    content_hash: str
    candidates: list[str]


@dataclass
class Batch:
    """The rows one feed adds, and the vectors to index once they are committed."""

    articles: list[dict] = field(default_factory=list)
    facts: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list)
    new_vectors: list[np.ndarray] = field(default_factory=list)
    source_keys: set[tuple[int, int]] = field(default_factory=set)
    known: int = 0

    def write(self, store: Store) -> None:
        for table, rows in (("articles", self.articles), ("facts", self.facts),
                            ("fact_sources", self.sources), ("decisions", self.decisions)):  # fmt: skip
            store.bulk_insert(table, rows)

    def vectors(self, dim: int) -> np.ndarray:
        return np.array(self.new_vectors, np.float32) if self.new_vectors else np.zeros((0, dim), np.float32)


def build_batch(store: Store, index: VectorIndex, encoder, fresh: list[FreshArticle], feed_id: int,
                novelty: NoveltyConfig, topic_threshold: float) -> Batch:  # fmt: skip
    """Decide every candidate of ``fresh`` (new or known) and assign topics."""
    batch = Batch()
    sentences = [s for article in fresh for s in article.candidates]
    vectors = encoder.encode(sentences) if sentences else np.zeros((0, index.dim), np.float32)
    scores, ids = index.search(vectors, NEIGHBOURS) if len(sentences) else (None, None)
    known_texts = _texts(store, ids)
    article_id, fact_id, decision_id = (store.next_id(t) for t in ("articles", "facts", "decisions"))
    topics = _Topics(store, topic_threshold)
    stamp, offset = now(), 0
    for article in fresh:
        own = vectors[offset : offset + len(article.candidates)]
        phrases = key_phrases(f"{article.title}. {article.text}", k=5)
        topic_id = topics.assign(own, article.title, phrases) if len(own) else None
        batch.articles.append({
            "id": article_id, "feed_id": feed_id, "guid": article.guid, "url": article.url,
            "title": article.title, "published": article.published, "text": article.text,
            "content_hash": article.content_hash, "key_phrases": phrases,
            "topic_id": topic_id, "fetched_at": stamp,
        })  # fmt: skip
        for sentence, vector in zip(article.candidates, own, strict=True):
            neighbours = _stored_neighbours(scores[offset], ids[offset], known_texts)
            neighbours = sorted(neighbours + _batch_neighbours(batch, vector), key=lambda n: -n[2])
            decision = decide(sentence, neighbours[:NEIGHBOURS], novelty)
            if decision.verdict == "known":
                target, score = decision.fact_id, decision.score
                batch.known += 1
            else:
                target, score = fact_id, 1.0
                fact_id += 1
                batch.facts.append({"id": target, "text": sentence, "first_seen": stamp,
                                    "topic_id": topic_id, "article_id": article_id,
                                    "encoder": encoder.name, "vector": vector.tolist()})  # fmt: skip
                batch.new_ids.append(target)
                batch.new_vectors.append(vector)
            _add_source(batch, target, article_id, score, sentence, stamp)
            batch.decisions.append({
                "id": decision_id, "article_id": article_id, "candidate": sentence,
                "verdict": decision.verdict, "fact_id": target,
                "nearest_fact_id": decision.nearest_fact_id, "nearest_score": decision.nearest_score,
                "reason": decision.reason, "decided_at": stamp,
            })  # fmt: skip
            decision_id += 1
            offset += 1
        article_id += 1
    return batch


def _texts(store: Store, ids: np.ndarray | None) -> dict[int, str]:
    if ids is None or not ids.size:
        return {}
    wanted = sorted({int(i) for i in ids.ravel() if i >= 0})
    rows = store.con.execute("SELECT id, text FROM facts WHERE id IN (SELECT unnest(?))", [wanted])
    return dict(rows.fetchall())


def _stored_neighbours(scores, ids, texts: dict[int, str]) -> list[tuple[int, str, float]]:
    return [(int(i), texts[int(i)], float(s)) for i, s in zip(ids, scores, strict=True) if int(i) in texts]


def _batch_neighbours(batch: Batch, vector: np.ndarray) -> list[tuple[int, str, float]]:
    """The facts this batch already accepted, nearest first (exact cosine)."""
    if not batch.new_vectors:
        return []
    scores = np.asarray(batch.new_vectors) @ vector
    best = np.argsort(-scores, kind="stable")[:NEIGHBOURS]
    # batch.facts and batch.new_vectors grow together, one entry per accepted fact
    return [(batch.facts[i]["id"], batch.facts[i]["text"], float(scores[i])) for i in best]


def _add_source(batch: Batch, fact_id: int, article_id: int, score: float, sentence: str, stamp) -> None:
    """One source row per (fact, article): an article repeating itself is still one source."""
    if (fact_id, article_id) in batch.source_keys:
        return
    batch.source_keys.add((fact_id, article_id))
    batch.sources.append({"fact_id": fact_id, "article_id": article_id, "score": float(score),
                          "sentence": sentence, "added_at": stamp})  # fmt: skip


class _Topics:
    """Running topics: an article joins the nearest centroid or starts a topic (written at once)."""

    def __init__(self, store: Store, threshold: float):
        self.store, self.threshold = store, threshold
        self.ids, self.sums = store.topic_centroids()

    def assign(self, vectors: np.ndarray, title: str, phrases: list[str]) -> int:
        """The topic of an article whose candidate sentences have ``vectors``."""
        vector = l2_normalize(vectors.mean(axis=0, keepdims=True))[0]
        sums = self.sums if self.ids else np.zeros((0, len(vector)), np.float32)
        best, _ = assign_topic(vector, sums, self.threshold)  # it normalises the sums itself
        if best is not None:
            self.sums[best] = self.sums[best] + vector
            self.store.join_topic(self.ids[best], self.sums[best])
            return self.ids[best]
        topic_id = self.store.add_topic(phrases[0] if phrases else title[:80], phrases, vector)
        self.sums = np.vstack([self.sums, vector[None, :]]) if self.ids else vector[None, :].copy()
        self.ids = [*self.ids, topic_id]
        return topic_id
