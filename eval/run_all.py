"""``kb eval all``: every evaluator over a shared/data-style tree, each encoder
loaded once, rows saved to ``results.json`` after every step (a crash keeps
what was measured), then ``report.md`` / ``report.html`` rendered from them.

A step that cannot run (an encoder without weights, a missing folder, the
ingest CLI failing) is logged, recorded under ``skipped`` with its reason, and
the run goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from eval.common import Provenance, TaskResult, current_provenance, open_encoder, rows_from

log = logging.getLogger(__name__)

TASKS = ("retrieval", "csn", "sts", "senteval", "novelty", "speed")
QUICK_SENTEVAL_CAP = 2000


@dataclass
class RunConfig:
    data: Path
    out: Path
    encoders: list[str] = field(default_factory=lambda: ["default", "minilm"])
    quick: bool = False
    tasks: tuple[str, ...] = TASKS
    bm25: bool = True
    typo_rate: float = 0.1


def _steps(config: RunConfig, encoders: list) -> list[tuple[str, Callable[[], list[TaskResult]]]]:
    """(name, thunk) for every measurement the config asks for, cheapest first."""
    from eval import csn, novelty, retrieval, senteval, speed, sts

    data, steps = config.data, []
    if "retrieval" in config.tasks:
        for folder in sorted(p for p in (data / "beir").glob("*") if (p / "corpus.jsonl").is_file()):
            steps.append((f"retrieval {folder.name}",
                          lambda f=folder: retrieval.evaluate_beir(f, encoders, bm25=config.bm25)))
    if "csn" in config.tasks:
        for folder in sorted(p for p in (data / "codesearchnet").glob("*") if (p / "corpus.jsonl").is_file()):
            steps.append((f"csn {folder.name}", lambda f=folder: csn.evaluate_csn(f, encoders, config.bm25)))
    for enc in encoders:
        if "sts" in config.tasks:
            steps.append((f"sts {enc.name}", lambda e=enc: [
                sts.evaluate_sts(p, e) for p in sts.load_sts(data / "sts")]))
            steps.append((f"sts typos {enc.name}", lambda e=enc: [sts.evaluate_sts(
                sts.load_stsb(data / "sts" / "stsbenchmark"), e, perturb=config.typo_rate)]))
        if "senteval" in config.tasks:
            cap = QUICK_SENTEVAL_CAP if config.quick else None
            for task in senteval.ALL_TASKS:
                steps.append((f"senteval {task} {enc.name}", lambda t=task, e=enc: [
                    senteval.evaluate_senteval(senteval.load_task(data / "senteval", t), e,
                                               senteval.SentEvalConfig(cap=cap))]))
        if "novelty" in config.tasks:
            steps.append((f"novelty MRPC {enc.name}", lambda e=enc: [novelty.evaluate_novelty(
                novelty.mrpc_pairs(data / "senteval", "test"),
                novelty.mrpc_pairs(data / "senteval", "train"), e)]))
            stsb = data / "sts" / "stsbenchmark"
            steps.append((f"novelty STS-B {enc.name}", lambda e=enc: [novelty.evaluate_novelty(
                novelty.stsb_pairs(stsb, "test"), novelty.stsb_pairs(stsb, "train"), e)]))
    if "speed" in config.tasks:
        steps += _speed_steps(config, encoders, speed, list(zip(config.encoders, encoders)))
    return steps


def _speed_steps(config: RunConfig, encoders: list, speed, loaded_specs: list) -> list:
    cfg = speed.SpeedConfig.quick() if config.quick else speed.SpeedConfig()

    def throughput() -> list[TaskResult]:
        inputs = {"news": speed.news_sentences(config.data, cfg.n_sentences),
                  "scifact-docs": speed.scifact_documents(config.data, cfg.n_documents)}
        results = [speed.encoding_speed(e, texts, name, cfg)
                   for name, texts in inputs.items() for e in encoders]
        speed.add_ratios(results)
        return results

    steps = [("speed encoders", throughput)]
    steps += [(f"faiss {n}", lambda n=n: [speed.faiss_latency(n, cfg)]) for n in cfg.index_sizes]
    feeds = config.data / "news" / "feeds"
    steps += [(f"ingest replay {spec}", lambda s=spec: [speed.ingest_replay(feeds, s)])
              for spec, _ in loaded_specs]
    return steps


def _save(path: Path, rows: list[dict], skipped: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"rows": rows, "skipped": skipped}, indent=1), encoding="utf-8")
    tmp.replace(path)


def run_all(config: RunConfig, provenance: Provenance | None = None) -> Path:
    """Run every step, save results.json, render the reports; returns results.json's path."""
    from eval.report import write_reports

    provenance = provenance or current_provenance()
    config.out.mkdir(parents=True, exist_ok=True)
    results_path = config.out / "results.json"
    rows: list[dict] = []
    skipped: list[dict] = []
    encoders = []
    for spec in config.encoders:
        try:
            encoders.append(open_encoder(spec))
        except Exception as exc:  # noqa: BLE001 - a missing model skips that encoder, not the run
            log.warning("encoder %s skipped: %s", spec, exc)
            skipped.append({"step": f"encoder {spec}", "reason": _one_line(exc)})
    steps = _steps(config, encoders)
    for name, thunk in tqdm(steps, desc="kb eval all", unit="step"):
        try:
            results = thunk()
        except Exception as exc:  # noqa: BLE001 - record why and keep measuring the rest
            log.warning("step %s skipped: %s", name, exc)
            skipped.append({"step": name, "reason": _one_line(exc)})
            continue
        for result in results:
            result.config = result.config | {"quick": config.quick}
            rows += rows_from(result, provenance)
        _save(results_path, rows, skipped)
    _save(results_path, rows, skipped)
    write_reports(results_path)
    return results_path


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
