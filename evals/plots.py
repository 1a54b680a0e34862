"""Inline SVG charts for the HTML report (no plotting library): bars, histogram, line curve.

Each function returns one self-contained ``<svg>`` string; labels are HTML-escaped.
"""

from collections.abc import Mapping, Sequence
from html import escape

_FONT = 'font-family="system-ui,sans-serif" font-size="11"'


def bar_chart(values: Sequence[tuple[str, float]], *, width: int = 640, bar: int = 16) -> str:
    """Horizontal bars for metrics in [0, 1], one row each, value printed at the bar's end."""
    label_w, pad = 200, 4
    height = len(values) * (bar + pad) + pad
    span = width - label_w - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
    ]
    for i, (name, value) in enumerate(values):
        y = pad + i * (bar + pad)
        w = max(0.0, min(1.0, value)) * span
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar - 4}" text-anchor="end" {_FONT}>{escape(name)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{span}" height="{bar}" fill="#eef1f5"/>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar}" fill="#3b6fb6"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 4}" {_FONT}>{value:.3f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    values: Sequence[float], *, bins: int = 20, width: int = 640, height: int = 180
) -> str:
    """Distribution of ``values`` (latencies in ms) as columns, with the range on the x axis."""
    if not values:
        return "<p>no values</p>"
    low, high = min(values), max(values)
    step = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / step), bins - 1)] += 1
    top = max(counts)
    plot_h, col_w = height - 30, (width - 40) / bins
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
    ]
    for i, count in enumerate(counts):
        h = plot_h * count / top
        parts.append(
            f'<rect x="{30 + i * col_w:.1f}" y="{plot_h - h + 5:.1f}" width="{col_w - 2:.1f}" '
            f'height="{h:.1f}" fill="#3b6fb6"><title>{count}</title></rect>'
        )
    parts.append(
        f'<text x="30" y="{height - 6}" {_FONT}>{low:.0f} ms</text>'
        f'<text x="{width - 10}" y="{height - 6}" text-anchor="end" {_FONT}>{high:.0f} ms</text>'
        f'<text x="2" y="14" {_FONT}>{top}</text></svg>'
    )
    return "".join(parts)


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    x_label: str,
    width: int = 420,
    height: int = 260,
) -> str:
    """Lines over x, y in [0, 1] (the abstention curve: coverage and accuracy per threshold)."""
    colours = ("#3b6fb6", "#c0504d", "#4f9d50", "#8064a2")
    left, bottom, plot_w, plot_h = 36, height - 30, width - 50, height - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<rect x="{left}" y="{bottom - plot_h}" width="{plot_w}" height="{plot_h}" fill="#f7f8fa" stroke="#ccc"/>',
        f'<text x="{left}" y="{height - 8}" {_FONT}>0</text>',
        f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" {_FONT}>1  {escape(x_label)}</text>',
        f'<text x="4" y="{bottom - plot_h + 10}" {_FONT}>1</text><text x="4" y="{bottom}" {_FONT}>0</text>',
    ]
    for i, (name, points) in enumerate(series.items()):
        colour = colours[i % len(colours)]
        path = " ".join(
            f"{left + x * plot_w:.1f},{bottom - max(0.0, min(1.0, y)) * plot_h:.1f}"
            for x, y in points
        )
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(
            f'<text x="{left + 8}" y="{bottom - plot_h + 16 + 14 * i}" fill="{colour}" {_FONT}>{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
