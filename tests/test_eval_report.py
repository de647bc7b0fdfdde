"""Reports render from saved rows; the ``kb eval`` parser wiring works."""

from __future__ import annotations

import argparse
import json

import pytest

from eval.cli import add_parser
from eval.common import Provenance, TaskResult, rows_from
from eval.report import load_results, render_markdown, write_reports

PROV = Provenance(commit="abc1234", date="2026-12-06T00:00:00+00:00", machine="test-box")


def sample_rows() -> list[dict]:
    results = [
        TaskResult("retrieval", "scifact", "test", "bm25", {"ndcg@10": 0.676, "mrr@10": 0.64}, "ndcg@10"),
        TaskResult("retrieval", "scifact", "test", "all-MiniLM-L6-v2", {"ndcg@10": 0.645}, "ndcg@10"),
        TaskResult(
            "sts",
            "STS-B",
            "test",
            "all-MiniLM-L6-v2",
            {"spearman": 82.0, "pearson": 83.0},
            "spearman",
        ),
        TaskResult("speed", "news", "-", "all-MiniLM-L6-v2", {"texts_per_s": 150.0}, "texts_per_s"),
    ]
    return [row for r in results for row in rows_from(r, PROV)]


def test_every_row_carries_provenance():
    """Rows hold dataset, split, counts, encoder, metric, value, commit, date, machine."""
    row = sample_rows()[0]
    assert {
        "dataset",
        "split",
        "counts",
        "encoder",
        "metric",
        "value",
        "commit",
        "date",
        "machine",
        "config",
    } <= set(row)
    assert row["commit"] == "abc1234"


def test_markdown_report_shows_primary_metrics_per_encoder():
    """report.md has a section per task with each encoder's primary value."""
    text = render_markdown({"rows": sample_rows(), "skipped": [{"step": "ingest", "reason": "no CLI"}]})
    assert "## Retrieval (BEIR), nDCG@10" in text
    assert "| encoder | scifact (test) |" in text
    assert "| bm25 | 0.6760 |" in text
    assert "- ingest: no CLI" in text


def test_html_report_is_one_file_with_embedded_charts(tmp_path):
    """report.html embeds its PNG charts as base64, so it needs no other file."""
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"rows": sample_rows(), "skipped": []}))
    md, page = write_reports(results)
    html = page.read_text()
    assert md.is_file()
    assert html.count("data:image/png;base64,") >= 3  # scatter + retrieval + sts (+ speed)
    assert "<img src='http" not in html


def test_malformed_results_json_is_a_one_line_error(tmp_path):
    """A results.json that is not JSON names the file."""
    from eval.common import EvalDataError

    path = tmp_path / "results.json"
    path.write_text("{oops")
    with pytest.raises(EvalDataError, match="results.json: not JSON"):
        load_results(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb")
    parser.add_argument("--json", action="store_true")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def test_add_parser_registers_eval_subcommands():
    """``kb eval sts DATA --encoder a --encoder b`` parses and points at eval.cli.run."""
    from eval.cli import run

    args = _parser().parse_args(["eval", "sts", "data/sts", "--encoder", "hash", "--encoder", "minilm"])
    assert args.eval_command == "sts" and args.encoders == ["hash", "minilm"]
    assert args.func is run


def test_missing_data_exits_2_with_one_line(tmp_path, capsys):
    """A DATA path that does not exist is one line on stderr and exit code 2."""
    args = _parser().parse_args(["eval", "beir", str(tmp_path / "nope"), "--encoder", "hash"])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "nope" in err and "\n" not in err


def test_sts_command_prints_json_rows(tmp_path, capsys):
    """``kb eval sts DATA --json`` prints the saved-row shape on stdout."""
    folder = tmp_path / "stsbenchmark"
    folder.mkdir()
    lines = ["sentence1\tsentence2\tscore\tsplit"] + [
        f"a b c d\ta b {'c ' * i}z{i}\t{i}\ttest" for i in range(5)
    ]
    (folder / "stsbenchmark.tsv").write_text("\n".join(lines) + "\n")
    args = _parser().parse_args(["eval", "sts", str(folder), "--encoder", "hash", "--json"])
    assert args.func(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["metric"] for r in rows} == {"spearman", "pearson"}


def test_run_all_writes_rows_and_reports_and_records_skips(tmp_path):
    """``kb eval all`` on a tiny tree saves rows, both reports, and why a step was skipped."""
    from evalfixtures import write_beir, write_sts

    from eval.run_all import RunConfig, run_all

    data = tmp_path / "data"
    write_beir(data / "beir" / "tiny")
    write_sts(data / "sts" / "stsbenchmark")
    config = RunConfig(
        data=data, out=tmp_path / "out", encoders=["hash", "/no/such/model"], tasks=("retrieval", "sts")
    )
    path = run_all(config, PROV)
    results = json.loads(path.read_text())
    encoders = {r["encoder"] for r in results["rows"]}
    assert {"hash-64", "bm25", "rrf:hash-64+bm25"} <= encoders
    assert [s["step"] for s in results["skipped"]] == ["encoder /no/such/model"]
    assert (tmp_path / "out" / "report.html").is_file()
    assert (tmp_path / "out" / "report.md").is_file()


def test_merge_keeps_earlier_encoders_and_replaces_remeasured_ones():
    """Rows of an earlier run survive unless this run measured the same task, dataset and encoder."""
    from eval.run_all import merged_rows

    earlier = sample_rows()
    new = [dict(earlier[0], value=0.7)]  # bm25 on scifact measured again
    merged = merged_rows(earlier, new)
    bm25 = [r for r in merged if r["encoder"] == "bm25" and r["task"] == "retrieval"]
    assert [r["value"] for r in bm25] == [0.7]
    assert any(r["encoder"] == "all-MiniLM-L6-v2" for r in merged)


def test_report_command_rerenders_from_saved_rows(tmp_path, capsys):
    """``kb eval report DIR`` rewrites report.md/html from DIR/results.json."""
    (tmp_path / "results.json").write_text(json.dumps({"rows": sample_rows(), "skipped": []}))
    args = _parser().parse_args(["eval", "report", str(tmp_path)])
    assert args.func(args) == 0
    assert (tmp_path / "report.md").read_text().startswith("# newskb evaluation report")


def test_unloadable_encoder_exits_2_with_one_line(tmp_path, capsys):
    """An encoder spec that names nothing loadable is one line on stderr and exit code 2."""
    folder = tmp_path / "stsbenchmark"
    folder.mkdir()
    (folder / "stsbenchmark.tsv").write_text("sentence1\tsentence2\tscore\tsplit\na\tb\t1\ttest\n")
    args = _parser().parse_args(["eval", "sts", str(folder), "--encoder", str(tmp_path / "no-model")])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown encoder") and "\n" not in err
