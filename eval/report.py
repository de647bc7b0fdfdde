"""Reports rendered from saved result rows: ``report.md`` (tables) and a single
self-contained ``report.html`` (the same tables plus matplotlib charts embedded
as base64 PNGs: one bar chart per task, and quality versus encoding speed).

``results.json`` is ``{"rows": [...], "skipped": [{"step", "reason"}]}``; every
row carries task, dataset, split, counts, encoder, metric, value, primary,
commit, date, machine and config (see :func:`eval.common.rows_from`).
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from collections import defaultdict
from pathlib import Path

from eval.common import EvalDataError

log = logging.getLogger(__name__)

TASK_TITLES = {
    "retrieval": "Retrieval (BEIR), nDCG@10",
    "csn": "CodeSearchNet Challenge (Python), graded nDCG",
    "sts": "STS, Spearman x100",
    "sts-typo": "STS with 10% character typos, Spearman x100",
    "senteval": "SentEval transfer, accuracy x100",
    "novelty": "Novelty decisions, F1 of 'known' at the configured threshold",
    "speed": "Encoding throughput, texts/s",
    "faiss": "FAISS single-query latency, ms",
    "ingest": "Ingestion replay, articles/s",
}
# Quality tasks whose primary metric, put on a 0-100 scale, averages into the scatter's y.
_QUALITY_SCALE = {"retrieval": 100.0, "csn": 100.0, "sts": 1.0, "senteval": 1.0, "novelty": 100.0}


def load_results(path: str | Path) -> dict:
    path = Path(path)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalDataError(f"{path}: missing (results.json)") from None
    except json.JSONDecodeError as exc:
        raise EvalDataError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(results, dict) or not isinstance(results.get("rows"), list):
        raise EvalDataError(f"{path}: expected an object with a 'rows' list")
    return results


def primary_table(rows: list[dict]) -> dict[str, dict[tuple[str, str], dict[str, float]]]:
    """task -> (dataset, split) -> encoder -> primary value."""
    table: dict = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        if row.get("primary"):
            table[row["task"]][(row["dataset"], row["split"])][row["encoder"]] = row["value"]
    return table


def _methods(cells: dict) -> list[str]:
    return sorted({m for by_method in cells.values() for m in by_method})


def _primary_grid(cells: dict) -> tuple[list[str], list[list[str]]]:
    """(header, body) with one row per encoder and one column per dataset (split)."""
    header = ["encoder"] + [f"{d} ({s})" for d, s in cells]
    body = [[m] + [_fmt(cells[key].get(m)) for key in cells] for m in _methods(cells)]
    return header, body


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}" if abs(value) < 1.5 else f"{value:.1f}" if abs(value) >= 100 else f"{value:.2f}"


def _markdown_table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def _detail_tables(rows: list[dict]) -> dict[str, tuple[list[str], list[list[str]]]]:
    """task -> (header, body) listing every metric of every (dataset, encoder)."""
    grouped: dict = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        grouped[row["task"]][(row["dataset"], row["split"], row["encoder"])][row["metric"]] = row["value"]
    out = {}
    for task, cells in grouped.items():
        metrics = list(dict.fromkeys(m for values in cells.values() for m in values))
        body = [[d, s, e] + [_fmt(v.get(m)) for m in metrics] for (d, s, e), v in cells.items()]
        out[task] = (["dataset", "split", "encoder"] + metrics, body)
    return out


def _provenance(rows: list[dict]) -> str:
    if not rows:
        return "no rows"
    # A merged results.json holds rows of several runs: show every commit and machine, the date span.
    commits = ", ".join(sorted({r["commit"] for r in rows}))
    machines = "; ".join(sorted({r["machine"] for r in rows}))
    dates = sorted({r["date"] for r in rows})
    span = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    return f"commit {commits} · {span} · {machines}"


def render_markdown(results: dict) -> str:
    rows = results["rows"]
    parts = ["# newskb evaluation report", "", _provenance(rows), ""]
    for task, cells in primary_table(rows).items():
        parts += [f"## {TASK_TITLES.get(task, task)}", ""]
        parts += [_markdown_table(*_primary_grid(cells)), ""]
    parts += ["## All metrics", ""]
    for task, (header, body) in _detail_tables(rows).items():
        parts += [f"### {task}", "", _markdown_table(header, body), ""]
    if results.get("skipped"):
        parts += ["## Skipped", ""] + [f"- {s['step']}: {s['reason']}" for s in results["skipped"]] + [""]
    return "\n".join(parts)


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def bar_chart(title: str, cells: dict) -> str:
    """Grouped bars: one group per dataset, one bar per encoder; base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods, groups = _methods(cells), list(cells)
    width = 0.8 / max(len(methods), 1)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(groups) + 2), 3.2))
    for i, method in enumerate(methods):
        xs = [g + i * width for g in range(len(groups))]
        ax.bar(xs, [cells[k].get(method, 0.0) for k in groups], width, label=method)
    ax.set_xticks(
        [g + 0.4 - width / 2 for g in range(len(groups))],
        [d for d, _ in groups],
        rotation=20,
        ha="right",
    )
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    encoded = _png(fig)
    plt.close(fig)
    return encoded


def quality_speed_points(rows: list[dict]) -> dict[str, tuple[float, float]]:
    """encoder -> (news texts/s, mean quality on a 0-100 scale) where both exist."""
    speed = {
        r["encoder"]: r["value"]
        for r in rows
        if r["task"] == "speed" and r["metric"] == "texts_per_s" and r["dataset"] == "news"
    }
    quality: dict = defaultdict(list)
    for r in rows:
        if r.get("primary") and r["task"] in _QUALITY_SCALE:
            quality[r["encoder"]].append(r["value"] * _QUALITY_SCALE[r["task"]])
    return {e: (speed[e], sum(q) / len(q)) for e, q in quality.items() if e in speed}


def scatter_chart(points: dict[str, tuple[float, float]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, (x, y) in points.items():
        ax.scatter([x], [y], s=40)
        ax.annotate(name, (x, y), fontsize=8, xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("news sentences encoded per second (log)")
    ax.set_ylabel("mean primary quality (0-100)")
    ax.set_title("Quality versus speed", fontsize=10)
    ax.grid(alpha=0.3)
    encoded = _png(fig)
    plt.close(fig)
    return encoded


def _html_table(header: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><tr>{head}</tr>{rows}</table>"


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
    "td:first-child{text-align:left}img{max-width:100%}"
)


def render_html(results: dict) -> str:
    rows = results["rows"]
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>newskb evaluation</title>"
        f"<style>{_CSS}</style></head><body><h1>newskb evaluation report</h1>"
        f"<p>{html.escape(_provenance(rows))}</p>"
    ]
    points = quality_speed_points(rows)
    if points:
        parts.append(
            f"<h2>Quality versus speed</h2><img alt='quality vs speed' "
            f"src='data:image/png;base64,{scatter_chart(points)}'>"
        )
    for task, cells in primary_table(rows).items():
        title = TASK_TITLES.get(task, task)
        parts.append(
            f"<h2>{html.escape(title)}</h2><img alt='{html.escape(task)}' "
            f"src='data:image/png;base64,{bar_chart(title, cells)}'>"
        )
        parts.append(_html_table(*_primary_grid(cells)))
    parts.append("<h2>All metrics</h2>")
    for task, (header, body) in _detail_tables(rows).items():
        parts.append(f"<h3>{html.escape(task)}</h3>" + _html_table(header, body))
    if results.get("skipped"):
        items = "".join(
            f"<li>{html.escape(s['step'])}: {html.escape(s['reason'])}</li>" for s in results["skipped"]
        )
        parts.append(f"<h2>Skipped</h2><ul>{items}</ul>")
    parts.append("</body></html>")
    return "".join(parts)


def write_reports(results_path: str | Path) -> tuple[Path, Path]:
    """report.md and report.html beside ``results.json``, rendered from its rows."""
    results_path = Path(results_path)
    results = load_results(results_path)
    md, page = results_path.with_name("report.md"), results_path.with_name("report.html")
    md.write_text(render_markdown(results), encoding="utf-8")
    page.write_text(render_html(results), encoding="utf-8")
    return md, page
