"""Speed measurements on tiny inputs: the numbers exist, ratios are against MiniLM."""

from __future__ import annotations

import pytest

from eval.common import TaskResult, open_encoder
from eval.speed import SpeedConfig, add_ratios, encoding_speed, faiss_latency

TINY = SpeedConfig(index_sizes=(2_000,), dim=16, n_queries=20, batch_size=8)


def test_encoding_speed_reports_throughput_and_memory():
    """Texts/s is positive and the thread count used is recorded."""
    result = encoding_speed(open_encoder("hash"), ["a short news sentence"] * 50, "news", TINY)
    assert result.metrics["texts_per_s"] > 0
    assert result.metrics["peak_mem_mb"] >= 0
    assert result.config["threads"] == TINY.threads


def test_ratios_are_against_minilm_in_the_same_run():
    """An encoder twice as fast as MiniLM on the same inputs gets speedup 2."""
    results = [
        TaskResult("speed", "news", "-", name, {"texts_per_s": tps, "peak_mem_mb": mem}, "texts_per_s")
        for name, tps, mem in (("all-MiniLM-L6-v2", 100.0, 50.0), ("ours", 200.0, 25.0))
    ]
    add_ratios(results)
    assert results[1].metrics["speedup_vs_minilm"] == pytest.approx(2.0)
    assert results[1].metrics["mem_ratio_vs_minilm"] == pytest.approx(0.5)


def test_faiss_latency_has_ordered_percentiles():
    """p99 latency is at least p50 on the project's VectorIndex."""
    pytest.importorskip("faiss")
    result = faiss_latency(2_000, TINY)
    assert 0 < result.metrics["p50_ms"] <= result.metrics["p99_ms"]
    assert result.counts == {"vectors": 2_000, "queries": 20}
