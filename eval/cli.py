"""``kb eval ...``: the thin CLI over the evaluators (parse, call, print).

kb/cli.py owns the global ``--json`` / ``--home`` options and calls
:func:`add_parser` with its subparsers; ``run(args)`` returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eval.common import EvalDataError, TaskResult, current_provenance, open_encoder, rows_from

DATA_ERROR_EXIT = 2

_EXAMPLES = {
    "beir": "kb eval beir ../shared/data/beir/scifact --encoder minilm",
    "csn": "kb eval csn ../shared/data/codesearchnet/python --encoder minilm",
    "sts": "kb eval sts ../shared/data/sts --encoder minilm --perturb 0.1",
    "senteval": "kb eval senteval ../shared/data/senteval --task MR --task TREC --quick",
    "novelty": "kb eval novelty ../shared/data --encoder minilm",
    "speed": "kb eval speed ../shared/data --encoder minilm --encoder hash --quick",
    "all": "kb eval all --data ../shared/data --out runs/eval --encoder default --encoder minilm",
    "report": "kb eval report eval/results/baselines",
}


def add_parser(subparsers) -> None:
    """Register ``eval`` and its subcommands on an argparse subparsers object."""
    parser = subparsers.add_parser(
        "eval",
        help="benchmark encoders: BEIR, CodeSearchNet, STS, SentEval, novelty, speed",
        description="Evaluate encoders against BM25 and all-MiniLM-L6-v2.",
        epilog="example: " + _EXAMPLES["all"],
    )
    sub = parser.add_subparsers(dest="eval_command", required=True)
    # --json after the subcommand too (``kb eval sts DATA --json``); SUPPRESS keeps a global --json.
    json_option = argparse.ArgumentParser(add_help=False)
    json_option.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print result rows as JSON"
    )
    encoders = argparse.ArgumentParser(add_help=False, parents=[json_option])
    encoders.add_argument(
        "--encoder",
        action="append",
        dest="encoders",
        metavar="E",
        help="default, minilm, hash or a model directory (repeatable; default: default)",
    )
    for name, help_text in (
        ("beir", "retrieval on a BEIR folder: dense, BM25, RRF and convex hybrids"),
        ("csn", "CodeSearchNet Challenge graded nDCG on a BEIR-format folder"),
        ("sts", "STS-B / SICK-R / STS12-16: Spearman and Pearson x100"),
        ("senteval", "logistic regression on frozen embeddings (MR CR SUBJ MPQA SST2 TREC MRPC)"),
        ("novelty", "P/R/F1 of the store's 'known' decision on MRPC and STS-B pairs"),
        ("speed", "encoding throughput and memory, FAISS latency, ingestion replay"),
    ):
        cmd = sub.add_parser(
            name,
            parents=[encoders],
            help=help_text,
            description=help_text,
            epilog="example: " + _EXAMPLES[name],
        )
        cmd.add_argument("data", type=Path, metavar="DATA")
        cmd.set_defaults(func=run)
    sub.choices["beir"].add_argument("--no-bm25", action="store_true", help="dense only")
    sub.choices["csn"].add_argument("--no-bm25", action="store_true", help="dense only")
    sub.choices["sts"].add_argument("--split", default="test", help="STS-B/SICK split (default test)")
    sub.choices["sts"].add_argument(
        "--perturb", type=float, default=0.0, help="fraction of characters hit by typos (e.g. 0.1)"
    )
    sub.choices["senteval"].add_argument(
        "--task", action="append", dest="tasks", help="a task to run (repeatable; default all)"
    )
    for name in ("senteval", "speed"):
        sub.choices[name].add_argument(
            "--quick", action="store_true", help="cap set sizes (recorded in each row)"
        )
    everything = sub.add_parser(
        "all",
        parents=[encoders],
        help="every task, then report.md/html",
        epilog="example: " + _EXAMPLES["all"],
    )
    everything.add_argument("--data", type=Path, required=True, help="a shared/data-style folder")
    everything.add_argument("--out", type=Path, required=True, help="folder for results and reports")
    everything.add_argument("--quick", action="store_true", help="smaller SentEval/speed sets")
    everything.add_argument("--task", action="append", dest="tasks", help="run only these tasks (repeatable)")
    everything.add_argument(
        "--merge",
        type=Path,
        metavar="RESULTS_JSON",
        help="carry over rows of an earlier results.json this run does not re-measure",
    )
    everything.set_defaults(func=run)
    report = sub.add_parser(
        "report",
        parents=[json_option],
        help="re-render report.md/html from results.json",
        epilog="example: " + _EXAMPLES["report"],
    )
    report.add_argument("dir", type=Path)
    report.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the chosen ``kb eval`` subcommand; print results; return the exit code."""
    from embed.checkpoint import CheckpointError
    from kb.encoders import EncoderError

    try:
        return _dispatch(args)
    except (EvalDataError, EncoderError, CheckpointError) as exc:
        # Bad data, or an encoder spec that cannot be loaded (e.g. weights not trained yet).
        print(f"error: {exc}", file=sys.stderr)
        return DATA_ERROR_EXIT


def _dispatch(args: argparse.Namespace) -> int:
    command = args.eval_command
    if command == "report":
        from eval.report import write_reports

        for path in write_reports(args.dir / "results.json"):
            print(path)
        return 0
    specs = args.encoders or (["default", "minilm"] if command == "all" else ["default"])
    if command == "all":
        from eval.run_all import TASKS, RunConfig, run_all

        unknown = set(args.tasks or ()) - set(TASKS)
        if unknown:
            print(
                f"error: unknown task(s) {sorted(unknown)}: choose from {', '.join(TASKS)}",
                file=sys.stderr,
            )
            return DATA_ERROR_EXIT
        path = run_all(
            RunConfig(
                data=args.data,
                out=args.out,
                encoders=specs,
                quick=args.quick,
                tasks=tuple(args.tasks or TASKS),
                merge=args.merge,
            )
        )
        print(
            json.dumps({"results": str(path)})
            if getattr(args, "json", False)
            else f"wrote {path}, {path.with_name('report.md')}, {path.with_name('report.html')}"
        )
        return 0
    _print(_evaluate(command, args, specs), getattr(args, "json", False))
    return 0


def _evaluate(command: str, args: argparse.Namespace, specs: list[str]) -> list[TaskResult]:
    from eval import csn, novelty, retrieval, senteval, speed, sts

    if not args.data.exists():
        raise EvalDataError(f"{args.data}: no such file or directory")
    encoders = [open_encoder(s) for s in specs]
    if command == "beir":
        return retrieval.evaluate_beir(args.data, encoders, bm25=not args.no_bm25)
    if command == "csn":
        return csn.evaluate_csn(args.data, encoders, bm25=not args.no_bm25)
    if command == "sts":
        pairs = sts.load_sts(args.data, args.split)
        return [sts.evaluate_sts(p, e, perturb=args.perturb) for p in pairs for e in encoders]
    if command == "senteval":
        config = senteval.SentEvalConfig(cap=2000 if args.quick else None)
        tasks = [senteval.load_task(args.data, t) for t in (args.tasks or senteval.ALL_TASKS)]
        return [senteval.evaluate_senteval(t, e, config) for t in tasks for e in encoders]
    if command == "novelty":
        sets = [
            (novelty.mrpc_pairs(args.data / "senteval", s) for s in ("test", "train")),
            (novelty.stsb_pairs(args.data / "sts" / "stsbenchmark", s) for s in ("test", "train")),
        ]
        return [novelty.evaluate_novelty(*pair, e) for pair in map(tuple, sets) for e in encoders]
    cfg = speed.SpeedConfig.quick() if args.quick else speed.SpeedConfig()
    results = speed.throughput_results(args.data, encoders, cfg)
    results += [speed.faiss_latency(n, cfg) for n in cfg.index_sizes]
    feeds = args.data / "news" / "feeds"
    return results + [speed.ingest_replay(feeds, s, e.name) for s, e in zip(specs, encoders, strict=True)]


def _print(results: list[TaskResult], as_json: bool) -> None:
    if as_json:
        provenance = current_provenance()
        print(json.dumps([row for r in results for row in rows_from(r, provenance)], indent=1))
        return
    for r in results:
        shown = "  ".join(f"{k}={v:.4g}" for k, v in r.metrics.items())
        head = f"{r.task:9} {r.dataset:22} {r.split:5} {r.method:34}"
        print(f"{head} {r.primary}={r.metrics[r.primary]:.4g}")
        print(f"          {shown}")
