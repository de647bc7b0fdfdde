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
from functools import partial
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
    # Rows of an earlier results.json to carry over where this run measured nothing
    # for the same (task, dataset, encoder): adds a new encoder to an existing report.
    merge: Path | None = None


def _sts(data: Path, encoder) -> list[TaskResult]:
    from eval import sts

    return [sts.evaluate_sts(pairs, encoder) for pairs in sts.load_sts(data / "sts")]


def _sts_typos(data: Path, encoder, rate: float) -> list[TaskResult]:
    from eval import sts

    return [sts.evaluate_sts(sts.load_stsb(data / "sts" / "stsbenchmark"), encoder, perturb=rate)]


def _senteval(data: Path, task: str, encoder, cap: int | None) -> list[TaskResult]:
    from eval import senteval

    loaded = senteval.load_task(data / "senteval", task)
    return [senteval.evaluate_senteval(loaded, encoder, senteval.SentEvalConfig(cap=cap))]


def _novelty(data: Path, dataset: str, encoder) -> list[TaskResult]:
    from eval import novelty

    if dataset == "MRPC":
        test, train = (novelty.mrpc_pairs(data / "senteval", s) for s in ("test", "train"))
    else:
        stsb = data / "sts" / "stsbenchmark"
        test, train = (novelty.stsb_pairs(stsb, s) for s in ("test", "train"))
    return [novelty.evaluate_novelty(test, train, encoder)]


def _steps(config: RunConfig, loaded: list[tuple[str, object]]) -> list[tuple[str, Callable]]:
    """(name, thunk) for every measurement the config asks for, given (spec, encoder) pairs."""
    from eval import csn, retrieval, speed

    data, steps, encoders = config.data, [], [e for _, e in loaded]
    if "retrieval" in config.tasks:
        for folder in _beir_folders(data / "beir"):
            run = partial(retrieval.evaluate_beir, folder, encoders, bm25=config.bm25)
            steps.append((f"retrieval {folder.name}", run))
    if "csn" in config.tasks:
        for folder in _beir_folders(data / "codesearchnet"):
            steps.append((f"csn {folder.name}", partial(csn.evaluate_csn, folder, encoders, config.bm25)))
    cap = QUICK_SENTEVAL_CAP if config.quick else None
    for enc in encoders:
        if "sts" in config.tasks:
            steps.append((f"sts {enc.name}", partial(_sts, data, enc)))
            steps.append((f"sts typos {enc.name}", partial(_sts_typos, data, enc, config.typo_rate)))
        if "senteval" in config.tasks:
            from eval.senteval import ALL_TASKS

            for task in ALL_TASKS:
                steps.append((f"senteval {task} {enc.name}", partial(_senteval, data, task, enc, cap)))
        if "novelty" in config.tasks:
            for dataset in ("MRPC", "STS-B"):
                steps.append((f"novelty {dataset} {enc.name}", partial(_novelty, data, dataset, enc)))
    if "speed" in config.tasks:
        steps += _speed_steps(config, encoders, speed, [spec for spec, _ in loaded])
    return steps


def _listed(evaluate: Callable[..., TaskResult], *args) -> list[TaskResult]:
    return [evaluate(*args)]


def _beir_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*") if (p / "corpus.jsonl").is_file())


def _speed_steps(config: RunConfig, encoders: list, speed, specs: list[str]) -> list:
    cfg = speed.SpeedConfig.quick() if config.quick else speed.SpeedConfig()

    steps = [("speed encoders", partial(speed.throughput_results, config.data, encoders, cfg))]
    steps += [(f"faiss {n}", partial(_listed, speed.faiss_latency, n, cfg)) for n in cfg.index_sizes]
    feeds = config.data / "news" / "feeds"
    for spec, encoder in zip(specs, encoders, strict=True):
        steps.append(
            (f"ingest replay {spec}", partial(_listed, speed.ingest_replay, feeds, spec, encoder.name))
        )
    return steps


def merged_rows(earlier: list[dict], new: list[dict]) -> list[dict]:
    """``earlier`` rows not re-measured in ``new`` (by task, dataset, encoder), then ``new``."""
    measured = {(r["task"], r["dataset"], r["encoder"]) for r in new}
    return [r for r in earlier if (r["task"], r["dataset"], r["encoder"]) not in measured] + new


def _save(path: Path, rows: list[dict], skipped: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"rows": rows, "skipped": skipped}, indent=1), encoding="utf-8")
    tmp.replace(path)


def run_all(config: RunConfig, provenance: Provenance | None = None) -> Path:
    """Run every step, save results.json, render the reports; returns results.json's path."""
    from eval.report import load_results, write_reports

    provenance = provenance or current_provenance()
    config.out.mkdir(parents=True, exist_ok=True)
    results_path = config.out / "results.json"
    earlier = load_results(config.merge)["rows"] if config.merge else []
    rows: list[dict] = []
    skipped: list[dict] = []
    loaded = []
    for spec in config.encoders:
        try:
            loaded.append((spec, open_encoder(spec)))
        except Exception as exc:  # noqa: BLE001 - a missing model skips that encoder, not the run
            log.warning("encoder %s skipped: %s", spec, exc)
            skipped.append({"step": f"encoder {spec}", "reason": _one_line(exc)})
    steps = _steps(config, loaded)
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
        _save(results_path, merged_rows(earlier, rows), skipped)
    _save(results_path, merged_rows(earlier, rows), skipped)
    write_reports(results_path)
    return results_path


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
