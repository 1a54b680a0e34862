"""The HTML report of a run: per suite, a metrics table (with published references), bars of
the [0, 1] metrics, the latency distribution, the abstention curve and the failed cases.

One self-contained file: inline CSS and SVG, no scripts, every value HTML-escaped.
"""

from collections.abc import Sequence
from html import escape
from typing import Any

from evals.metrics import higher_is_better, per_tag_rate
from evals.plots import bar_chart, histogram, line_chart
from evals.runner import SuiteResult

MAX_FAILURES_SHOWN = 60
_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
h2{margin-top:2.5rem;border-top:2px solid #3b6fb6;padding-top:.5rem}
.muted{color:#777;font-size:.9em}.plots{display:flex;flex-wrap:wrap;gap:2rem}
"""


def render_report(run_id: str, results: Sequence[SuiteResult]) -> str:
    """The whole report as one HTML string."""
    body = [f"<h1>Evaluation run {escape(run_id)}</h1>", _overview(results)]
    body.extend(_suite_section(r) for r in results)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Groundwork eval {escape(run_id)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )


def _overview(results: Sequence[SuiteResult]) -> str:
    rows = "".join(
        f"<tr><td><a href='#{escape(r.suite)}'>{escape(r.suite)}</a></td><td class=n>{len(r.rows)}</td>"
        f"<td class=n>{'' if r.version is None else r.version}</td>"
        f"<td>{escape(str(r.meta.get('reproduce', '')))}</td></tr>"
        for r in results
    )
    return (
        "<table><tr><th>suite</th><th>cases</th><th>version</th><th>reproduce</th></tr>"
        f"{rows}</table>"
    )


def _suite_section(result: SuiteResult) -> str:
    parts = [f"<h2 id='{escape(result.suite)}'>{escape(result.suite)}</h2>"]
    if note := result.meta.get("note"):
        parts.append(f"<p class=muted>{escape(str(note))}</p>")
    if published := result.meta.get("published"):
        parts.append(f"<p><b>Published reference:</b> {escape(str(published))}</p>")
    parts.append(_metrics_table(result))
    unit = [(k, v) for k, v in sorted(result.metrics.items()) if _is_ratio(k, v)]
    plots = []
    if unit:
        plots.append(f"<div><h3>Metrics in [0, 1]</h3>{bar_chart(unit)}</div>")
    if result.latencies_ms:
        plots.append(f"<div><h3>Latency per case</h3>{histogram(result.latencies_ms)}</div>")
    if curve := result.meta.get("abstention_curve"):
        plots.append(f"<div><h3>Abstention curve</h3>{_curve(curve)}</div>")
    parts.append(f"<div class=plots>{''.join(plots)}</div>")
    if result.rows and "passed" in result.rows[0]:
        tags = per_tag_rate(result.rows, "passed")
        if tags:
            parts.append("<h3>Pass rate per tag</h3>" + bar_chart(sorted(tags.items())))
        parts.append(_failures(result.rows))
    return "".join(parts)


def _is_ratio(name: str, value: float) -> bool:
    return 0.0 <= value <= 1.0 and not name.endswith(("_ms", "_usd", "_total")) and name != "cases"


def _metrics_table(result: SuiteResult) -> str:
    reference = result.meta.get("reference", {})
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td class=n>{value:.4f}</td>"
        f"<td class=muted>{'higher' if higher_is_better(name) else 'lower'} is better</td>"
        f"<td>{escape(str(reference.get(name, '')))}</td></tr>"
        for name, value in sorted(result.metrics.items())
    )
    return (
        "<table><tr><th>metric</th><th>value</th><th></th><th>published reference</th></tr>"
        f"{rows}</table>"
    )


def _curve(points: Sequence[dict[str, Any]]) -> str:
    """Every non-threshold series of the curve against the confidence threshold."""
    names = [k for k in points[0] if k != "threshold"] if points else []
    series = {
        name.replace("_", " "): [(float(p["threshold"]), float(p[name])) for p in points]
        for name in names
    }
    return line_chart(series, x_label="confidence threshold")


def _failures(rows: Sequence[dict[str, Any]]) -> str:
    failed = [r for r in rows if not r.get("passed")]
    if not failed:
        return "<p>Every case passed.</p>"
    lines = "".join(
        f"<tr><td>{escape(str(r.get('id')))}</td><td>{escape(', '.join(r.get('tags', [])))}</td>"
        f"<td>{escape(str(r.get('question', '')))}</td><td>{escape(str(r.get('outcome', '')))}</td>"
        f"<td>{escape(_why(r))}</td></tr>"
        for r in failed[:MAX_FAILURES_SHOWN]
    )
    more = len(failed) - MAX_FAILURES_SHOWN
    return (
        f"<h3>Failed cases ({len(failed)})</h3><table><tr><th>id</th><th>tags</th><th>question</th>"
        f"<th>outcome</th><th>why</th></tr>{lines}</table>"
        + (f"<p class=muted>and {more} more in rows.jsonl</p>" if more > 0 else "")
    )


def _why(row: dict[str, Any]) -> str:
    reasons = []
    if row.get("leaked"):
        reasons.append("leaked forbidden text")
    if row.get("acl_violations"):
        reasons.append("cited an unreadable document")
    if row.get("answerable"):
        if row.get("handed_off"):
            reasons.append("handed off")
        if not row.get("all_facts"):
            reasons.append(f"facts {row.get('facts_found')}/{row.get('facts_total')}")
        if not row.get("citation_match"):
            reasons.append("no expected source cited")
    elif row.get("must_handoff") and not row.get("handed_off"):
        reasons.append("answered instead of handing off")
    return "; ".join(reasons) or "see rows.jsonl"
