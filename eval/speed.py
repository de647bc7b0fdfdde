"""Speed and memory: encoder throughput, FAISS query latency, ingestion replay.

- Throughput: every encoder embeds the same texts in the same process with the
  same torch thread count (news sentences: ``text_b`` of the first rows of
  ``train/rss_news_titles``; SciFact documents: the first corpus rows, title +
  text). One untimed warm-up batch first. Peak memory is the highest resident
  set size sampled every 5 ms while encoding, minus the RSS before: working
  memory of encoding, not the model's weights (loaded earlier). Ratios are
  against MiniLM measured in the same run.
- FAISS: :class:`kb.index.VectorIndex` holding 100k / 1M random unit vectors
  (dim 384, seeded); single-query search latency (k=10) p50/p99 in ms.
- Ingestion: ``kb init`` / ``kb feeds add`` / ``kb ingest --json`` on a temp
  home against the feed snapshots served on 127.0.0.1; articles/s is new
  articles over the wall time of ``kb ingest`` (including its process start).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.common import EvalDataError, TaskResult, require_file

log = logging.getLogger(__name__)

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class SpeedConfig:
    n_sentences: int = 2000
    n_documents: int = 500
    batch_size: int = 64
    threads: int = 2
    index_sizes: tuple[int, ...] = (100_000, 1_000_000)
    dim: int = 384
    n_queries: int = 200
    k: int = 10
    seed: int = 7

    @classmethod
    def quick(cls) -> SpeedConfig:
        """Fewer documents and FAISS queries (``--quick``); same sizes otherwise."""
        return cls(n_documents=200, n_queries=50)


def rss_bytes() -> int:
    """Resident set size of this process now (Linux /proc)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * _PAGE


def peak_rss_during(work: Callable[[], object]) -> tuple[object, float, int]:
    """(result, seconds, peak RSS growth in bytes) of running ``work``."""
    before, peak, done = rss_bytes(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return result, seconds, max(peak[0], rss_bytes()) - before


def news_sentences(data_root: str | Path, n: int) -> list[str]:
    path = require_file(Path(data_root) / "train" / "rss_news_titles" / "pairs.tsv.gz", "news text")
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                raise EvalDataError(f"{path}: a row without 3 tab-separated fields")
            out.append(fields[1])
            if len(out) == n:
                break
    return out


def scifact_documents(data_root: str | Path, n: int) -> list[str]:
    path = require_file(Path(data_root) / "beir" / "scifact" / "corpus.jsonl", "SciFact corpus")
    out = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            out.append(f"{doc.get('title', '')} {doc.get('text', '')}".strip())
            if len(out) == n:
                break
    return out


def encoding_speed(encoder, texts: Sequence[str], name: str, config: SpeedConfig) -> TaskResult:
    """Texts/s and peak memory growth of ``encoder`` on ``texts``."""
    import torch

    torch.set_num_threads(config.threads)
    inner = getattr(encoder, "inner", encoder)  # time the model, not the run's text cache
    inner.encode(list(texts[: config.batch_size]), batch_size=config.batch_size)
    _, seconds, peak = peak_rss_during(lambda: inner.encode(list(texts), batch_size=config.batch_size))
    return TaskResult(
        task="speed",
        dataset=name,
        split="-",
        method=encoder.name,
        metrics={
            "texts_per_s": len(texts) / seconds,
            "seconds": seconds,
            "peak_mem_mb": peak / 2**20,
        },
        primary="texts_per_s",
        counts={"texts": len(texts)},
        config={
            "threads": config.threads,
            "batch_size": config.batch_size,
            "device": _device(inner),
        },
    )


def throughput_results(data_root: str | Path, encoders: Sequence, config: SpeedConfig) -> list[TaskResult]:
    """Throughput of every encoder on the news sentences and the SciFact documents,
    with ratios against MiniLM when it is among them."""
    inputs = {
        "news": news_sentences(data_root, config.n_sentences),
        "scifact-docs": scifact_documents(data_root, config.n_documents),
    }
    results = [encoding_speed(e, texts, name, config) for name, texts in inputs.items() for e in encoders]
    add_ratios(results)
    return results


def _device(encoder) -> str:
    model = getattr(encoder, "model", None)
    return str(getattr(model, "device", "cpu"))


def add_ratios(results: list[TaskResult], reference: str = "all-MiniLM-L6-v2") -> None:
    """Add throughput and memory ratios against ``reference`` on the same inputs."""
    base = {r.dataset: dict(r.metrics) for r in results if r.method == reference}
    for r in results:
        ref = base.get(r.dataset)
        if ref:
            r.metrics["speedup_vs_minilm"] = r.metrics["texts_per_s"] / ref["texts_per_s"]
            r.metrics["mem_ratio_vs_minilm"] = r.metrics["peak_mem_mb"] / max(ref["peak_mem_mb"], 1e-9)


def faiss_latency(size: int, config: SpeedConfig) -> TaskResult:
    """p50/p99 single-query latency (ms) of :class:`kb.index.VectorIndex` at ``size`` vectors."""
    from kb.index import VectorIndex

    rng = np.random.default_rng(config.seed)
    index = VectorIndex(config.dim)
    chunk = 100_000
    for start in range(0, size, chunk):
        index.add(
            np.arange(start, min(start + chunk, size), dtype=np.int64),
            _unit(rng.standard_normal((min(chunk, size - start), config.dim), np.float32)),
        )
    queries = _unit(rng.standard_normal((config.n_queries, config.dim), np.float32))
    index.search(queries[:1], config.k)
    times = []
    for query in queries:
        start = time.perf_counter()
        index.search(query[None, :], config.k)
        times.append((time.perf_counter() - start) * 1000)
    return TaskResult(
        task="faiss",
        dataset=f"random-{size // 1000}k",
        split="-",
        method="VectorIndex (IndexFlatIP)",
        metrics={
            "p50_ms": float(np.percentile(times, 50)),
            "p99_ms": float(np.percentile(times, 99)),
        },
        primary="p50_ms",
        counts={"vectors": size, "queries": config.n_queries},
        config={"dim": config.dim, "k": config.k, "faiss_threads": _faiss_threads()},
    )


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _faiss_threads() -> int:
    import faiss

    return faiss.omp_get_max_threads()


_KB = [sys.executable, "-c", "import sys; from kb.cli import main; sys.exit(main())"]


def ingest_replay(
    feeds_dir: str | Path, encoder_spec: str | None = None, encoder_name: str | None = None
) -> TaskResult:
    """Articles/s of a real ``kb ingest`` over the saved feed files; the row is labelled
    ``encoder_name`` (the name other tasks use) or else the spec."""
    from ingest.serve import serve_directory

    feeds_dir = Path(feeds_dir)
    files = sorted(p for p in feeds_dir.iterdir() if p.suffix in {".xml", ".rss", ".atom", ".rdf"})
    if not files:
        raise EvalDataError(f"{feeds_dir}: no feed files (*.xml, *.rss, *.atom, *.rdf)")
    env = os.environ | {"KB_ALLOW_HOSTS": "127.0.0.1", "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as home, serve_directory(feeds_dir) as base_url:
        _kb(["--home", home, "init"] + (["--encoder", encoder_spec] if encoder_spec else []), env)
        _kb(
            ["--home", home, "feeds", "add"] + [f"{base_url.rstrip('/')}/{p.name}" for p in files],
            env,
        )
        start = time.perf_counter()
        out = _kb(["--home", home, "ingest", "--json"], env)
        seconds = time.perf_counter() - start
    summary = json.loads(out)
    new = int(summary["articles"]["new"])
    return TaskResult(
        task="ingest",
        dataset=feeds_dir.name,
        split="-",
        method=encoder_name or encoder_spec or "default",
        metrics={
            "articles_per_s": new / seconds,
            "seconds": seconds,
            "articles_new": new,
            "facts_new": summary["facts"]["new"],
            "facts_known": summary["facts"]["known"],
            "feeds_failed": summary["feeds"]["failed"],
        },
        primary="articles_per_s",
        counts={"feeds": len(files)},
        config={"command": "kb ingest --json", "errors": summary.get("errors", [])[:5]},
    )


def _kb(args: list[str], env: dict) -> str:
    done = subprocess.run(_KB + args, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"kb {' '.join(args[2:4])} exited {done.returncode}: {last}")
    return done.stdout
