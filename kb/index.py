"""One vector per fact in FAISS, keyed by the fact id, saved atomically.

Exact inner-product search over unit vectors (= cosine). The index is a cache
of the vectors kept in DuckDB: ``kb reindex`` and ``kb doctor`` rebuild it from
the store, so losing it never loses a fact. When faiss sees a GPU, searches run
on a GPU copy of the index.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SMALL_BATCH = 64  # queries below this run single-threaded


class IndexError_(Exception):
    """An index file that cannot be used."""


def _faiss():
    try:
        import faiss
    except ImportError as exc:
        raise IndexError_(
            "faiss is not installed: pip install 'newskb[cpu]' (or 'newskb[gpu]' with CUDA)"
        ) from exc
    return faiss


def _max_threads() -> int:
    try:
        import faiss
    except ImportError:
        return 1
    return faiss.omp_get_max_threads()


_MAX_THREADS = _max_threads()


class VectorIndex:
    """Exact cosine search over (id, unit vector) pairs."""

    def __init__(self, dim: int):
        faiss = _faiss()
        self.dim = dim
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._gpu = None  # lazily built GPU copy, dropped on every change

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        """All ids held, as int64 (order of insertion)."""
        faiss = _faiss()
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        self._index.add_with_ids(vectors, ids)
        self._gpu = None

    def remove(self, ids: np.ndarray) -> int:
        faiss = _faiss()
        removed = int(self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, np.int64))))
        self._gpu = None
        return removed

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n, k'), best first; k' = min(k, len(self))."""
        vectors = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
        k = min(k, len(self))
        if k == 0:
            empty = np.zeros((len(vectors), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        faiss = _faiss()
        # Why: for a handful of queries OpenMP start-up costs 20x the search itself on a busy CPU.
        faiss.omp_set_num_threads(1 if len(vectors) < SMALL_BATCH else _MAX_THREADS)
        scores, ids = self._searchable().search(vectors, k)
        return scores, ids

    def _searchable(self):
        faiss = _faiss()
        if self._gpu is None and faiss.get_num_gpus() > 0 and len(self) > 0:
            self._gpu = faiss.index_cpu_to_all_gpus(self._index)
        return self._gpu if self._gpu is not None else self._index

    def save(self, path: Path, meta: dict) -> None:
        """Write ``path`` and ``path.json`` atomically: readers see the old pair or the new one."""
        faiss = _faiss()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self._index, str(tmp))
        _fsync(tmp)
        meta_tmp = path.with_name(path.name + ".json.tmp")
        meta_tmp.write_text(json.dumps({**meta, "count": len(self), "dim": self.dim}), "utf-8")
        _fsync(meta_tmp)
        os.replace(tmp, path)
        os.replace(meta_tmp, meta_path(path))

    @classmethod
    def load(cls, path: Path) -> tuple[VectorIndex, dict]:
        faiss = _faiss()
        try:
            raw = faiss.read_index(str(path))
            meta = json.loads(meta_path(path).read_text("utf-8"))
        except (RuntimeError, OSError, ValueError) as exc:
            raise IndexError_(f"{path}: unreadable index ({str(exc).splitlines()[0]})") from exc
        if not isinstance(raw, faiss.IndexIDMap2):
            raise IndexError_(f"{path}: not a newskb index ({type(raw).__name__})")
        index = cls(raw.d)
        index._index = raw  # read_index returns the concrete type, owning its memory
        return index, meta


def meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
