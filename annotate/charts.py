"""Small server-rendered SVG charts: stacked horizontal bars, horizontal bars, and lines.

No JavaScript and no build step. Every label and title is escaped (model and annotator names
come from users and files); numbers are formatted here. Each chart is one ``<svg>`` with a
``<title>`` for screen readers and a ``<title>`` per mark as its tooltip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#2f6f4f", "#d9a441", "#c9ced6", "#4a6fa5", "#a54a4a")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True)
class Segment:
    label: str
    value: int


@dataclass(frozen=True)
class StackedBar:
    label: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[float, ...]


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _svg(*, title: str, width: int, height: int, body: list[str]) -> SafeString:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" {FONT}>'
        f"<title>{escape(title)}</title>"
    )
    # Every interpolated string above and in ``body`` went through ``escape``.
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308


def _legend(labels: Sequence[str], *, y: int, x: int = 0) -> list[str]:
    parts = []
    for i, label in enumerate(labels):
        lx = x + i * 150
        parts.append(
            f'<rect x="{lx}" y="{y - 10}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{lx + 14}" y="{y}">{escape(label)}</text>'
        )
    return parts


def stacked_bars(*, title: str, bars: Sequence[StackedBar], width: int = 640) -> SafeString:
    """One horizontal bar per row, split into its segments; each bar is scaled to its own
    total (a share), and the numbers are written beside it."""
    label_w, row_h, top = 150, 28, 8
    plot_w = width - label_w - 160
    segment_labels = [s.label for s in bars[0].segments] if bars else []
    body: list[str] = []
    for row, bar in enumerate(bars):
        y = top + row * row_h
        total = sum(s.value for s in bar.segments)
        body.append(f'<text x="0" y="{y + 15}">{escape(bar.label)}</text>')
        x = float(label_w)
        for i, segment in enumerate(bar.segments):
            w = plot_w * segment.value / total if total else 0
            if w > 0:
                body.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="20" fill="{PALETTE[i % len(PALETTE)]}">'
                    f"<title>{escape(bar.label)}: {escape(segment.label)} {_num(segment.value)}</title></rect>"
                )
            x += w
        if not total:
            body.append(
                f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="20" fill="none" stroke="#c9ced6"/>'
            )
        numbers = " / ".join(_num(s.value) for s in bar.segments)
        body.append(f'<text x="{label_w + plot_w + 8}" y="{y + 15}">{escape(numbers)}</text>')
    legend_y = top + len(bars) * row_h + 14
    body += _legend(segment_labels, y=legend_y, x=label_w)
    return _svg(title=title, width=width, height=legend_y + 8, body=body)


def bars(*, title: str, bars: Sequence[Bar], unit: str = "", width: int = 640) -> SafeString:
    """Horizontal bars against a common scale (the largest value)."""
    label_w, row_h, top = 170, 24, 4
    plot_w = width - label_w - 90
    largest = max((b.value for b in bars), default=0) or 1
    body: list[str] = []
    for row, bar in enumerate(bars):
        y = top + row * row_h
        w = plot_w * bar.value / largest
        shown = f"{_num(bar.value)}{(' ' + unit) if unit else ''}"
        body.append(
            f'<text x="0" y="{y + 14}">{escape(bar.label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="18" fill="{PALETTE[0]}">'
            f"<title>{escape(bar.label)}: {escape(shown)}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 14}">{escape(shown)}</text>'
        )
    return _svg(title=title, width=width, height=top + max(1, len(bars)) * row_h + 4, body=body)


def lines(
    *,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """One line per series over shared x positions; the first and last x labels are written
    under the axis, every point has a tooltip."""
    left, right, top, bottom = 40, 10, 10, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    largest = max((v for s in series for v in s.values), default=0) or 1
    n = len(x_labels)

    def x_at(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y_at(v: float) -> float:
        return top + plot_h - plot_h * v / largest

    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end">{escape(_num(largest))}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for k, s in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in enumerate(s.values))
        if n > 1:
            body.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
            )
        for i, v in enumerate(s.values):
            body.append(
                f'<circle cx="{x_at(i):.1f}" cy="{y_at(v):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(s.label)}, {escape(x_labels[i])}: {_num(v)}</title></circle>"
            )
    if n:
        body.append(f'<text x="{left}" y="{top + plot_h + 16}">{escape(x_labels[0])}</text>')
        if n > 1:
            body.append(
                f'<text x="{left + plot_w}" y="{top + plot_h + 16}" text-anchor="end">{escape(x_labels[-1])}</text>'
            )
    body += _legend([s.label for s in series], y=height - 8, x=left)
    return _svg(title=title, width=width, height=height, body=body)
