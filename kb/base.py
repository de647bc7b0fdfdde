"""A knowledge base on disk: its home, config, store, vector index and encoder.

The FAISS index is derived from the vectors stored in DuckDB. Every open checks
the two against each other; an index left behind by a crash (a batch committed
to DuckDB, the process killed before the index was saved) is repaired from the
store, so no accepted fact ever lacks its vector.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.config import KBConfig, load_config, save_config
from kb.encoders import Encoder, load_encoder
from kb.index import IndexError_, VectorIndex
from kb.novelty import NoveltyConfig
from kb.store import Store, StoreError

log = logging.getLogger(__name__)

INDEX_FILE = Path("index") / "facts.faiss"


class EncoderMismatch(StoreError):
    """The configured encoder is not the one that made the stored vectors."""


@dataclass
class KnowledgeBase:
    home: Path
    config: KBConfig
    _encoder: Encoder | None = field(default=None, repr=False)

    @classmethod
    def open(cls, home: Path, encoder: Encoder | None = None) -> KnowledgeBase:
        return cls(home, load_config(home), encoder)

    @property
    def encoder(self) -> Encoder:
        """The configured encoder, loaded on first use (loading a model takes a moment)."""
        if self._encoder is None:
            self._encoder = load_encoder(self.config.encoder)
        return self._encoder

    @property
    def index_path(self) -> Path:
        return self.home / INDEX_FILE

    def novelty(self) -> NoveltyConfig:
        return NoveltyConfig(self.config.novelty_threshold, self.config.min_word_overlap)

    def save_config(self) -> None:
        save_config(self.home, self.config)

    def check_encoder(self, store: Store) -> None:
        """Refuse an encoder other than the one recorded with the vectors; record it if none is."""
        recorded = store.meta("encoder")
        name = self.encoder.name
        if recorded is None and not store.read_only:
            store.set_meta("encoder", name)
            store.set_meta("encoder_dim", str(self.encoder.dim))
        elif recorded is not None and recorded != name:
            raise EncoderMismatch(
                f"the store's vectors were made by {recorded!r} but the configured encoder is "
                f"{name!r}; run `kb reindex --encoder {self.config.encoder}` to re-embed every fact"
            )

    def load_index(self, store: Store) -> tuple[VectorIndex, list[str]]:
        """The fact index, repaired in memory to match the store; and what was repaired.

        Only fact ids are read to compare (a query's hot path); vectors are read for the
        facts the index lacks, or for all of them when it must be rebuilt.
        """
        ids = store.fact_ids()
        recorded_dim = store.meta("encoder_dim")
        dim = int(recorded_dim) if recorded_dim else self.encoder.dim
        repairs: list[str] = []
        index = None
        try:
            if not self.index_path.exists():
                raise IndexError_(f"{self.index_path} is missing")
            index, meta = VectorIndex.load(self.index_path)
            if meta.get("encoder") != store.meta("encoder") or index.dim != dim:
                repairs.append(f"index was made by {meta.get('encoder')!r}: rebuilt from the store")
                index = None
        except IndexError_ as exc:
            if len(ids):
                repairs.append(f"{exc}: rebuilt from the store")
        if index is None:
            index = VectorIndex(dim)
            index.add(*store.fact_vectors())
            return index, repairs
        held = index.ids()
        extra = np.setdiff1d(held, ids)
        if len(extra):
            index.remove(extra)
            repairs.append(f"removed {len(extra)} vector(s) of facts the store does not hold")
        missing = np.setdiff1d(ids, held)
        if len(missing):
            index.add(*store.fact_vectors(missing.tolist()))
            repairs.append(f"added {len(missing)} missing vector(s) from the store")
        return index, repairs

    def save_index(self, index: VectorIndex, store: Store) -> None:
        index.save(self.index_path, {"encoder": store.meta("encoder")})


def initialise(home: Path, encoder_spec: str | None = None) -> KnowledgeBase:
    """Create ``home`` with its config and an empty, migrated store (idempotent)."""
    from kb.store import open_store

    config = load_config(home)
    if encoder_spec:
        config.encoder = encoder_spec
    kb = KnowledgeBase(home, config)
    with open_store(home) as store:
        recorded = store.meta("encoder")
        if recorded is not None and encoder_spec and recorded != kb.encoder.name:
            raise EncoderMismatch(
                f"{home} already holds vectors made by {recorded!r}; "
                f"use `kb reindex --encoder {encoder_spec}` to switch encoders"
            )
        kb.save_config()
    return kb


def reindex(kb: KnowledgeBase, store: Store, encoder_spec: str | None = None) -> dict:
    """Rebuild the FAISS index from the store; with a new encoder, re-embed every fact first."""
    re_embedded = 0
    if encoder_spec and encoder_spec != kb.config.encoder:
        kb.config.encoder = encoder_spec
        kb._encoder = None
    if store.meta("encoder") not in (None, kb.encoder.name):
        ids, texts = store.fact_texts()
        vectors = kb.encoder.encode(texts) if texts else np.zeros((0, kb.encoder.dim), np.float32)
        with store.transaction():
            for fact_id, vector in zip(ids, vectors, strict=True):
                store.con.execute(
                    "UPDATE facts SET vector = ?, encoder = ? WHERE id = ?",
                    [vector.tolist(), kb.encoder.name, fact_id],
                )
            store.set_meta("encoder", kb.encoder.name)
            store.set_meta("encoder_dim", str(kb.encoder.dim))
            # Running topics were built in the old vector space: their centroids are void.
            store.con.execute("UPDATE topics SET centroid_sum = NULL")
        re_embedded = len(ids)
    kb.save_config()
    ids, vectors = store.fact_vectors()
    index = VectorIndex(vectors.shape[1] if len(ids) else kb.encoder.dim)
    index.add(ids, vectors)
    kb.save_index(index, store)
    return {"encoder": kb.encoder.name, "vectors": len(index), "re_embedded": re_embedded}
