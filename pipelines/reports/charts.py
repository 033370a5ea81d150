"""Charts as inline SVG, drawn here (no JavaScript, no CDN): they work offline and in print.

Every text that reaches the SVG is escaped. Marks carry ``data-`` attributes (unit, year,
value) so a test, or a curious reader of the source, can check them against the tables.

What makes them hold up: titles and legend names wrap instead of being cut; a trend line is
broken where a year has no figure; a year still running is labelled as such ("2026 (til
01-11-2026)"); the legend draws each line as it is drawn in the plot (national proportion,
95 % and 99,8 % control limits, standard); departments at the same place in a funnel plot
are set side by side and counted; a national proportion of 0 % or 100 % says why the
funnel has no width.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup, escape

from pipelines.reports import funnel as funnel_limits

FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\""
COLOURS = {"main": "#1f5fa8", "secondary": "#8a8f98", "standard": "#2e7d32", "high_998": "#b71c1c",
           "low_998": "#b71c1c", "high_95": "#e67e22", "low_95": "#e67e22", "inside": "#1f5fa8", "none": "#999",
           "centre": "#6a1b9a", "limit": "#7a8594"}
CHAR_WIDTH = 6.2   # px of an average character at font-size 11
LINE_HEIGHT = 14


def pct(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.{digits}f} %".replace(".", ",")


def wrap(text: str, width: float, size: float = 11) -> list[str]:
    """``text`` in lines of at most ``width`` px (words kept whole; a word longer than a line
    is cut only if it must be)."""
    most = max(int(width / (CHAR_WIDTH * size / 11)), 8)
    lines, line = [], ""
    for word in text.split():
        while len(word) > most:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[: most - 1] + "-")
            word = word[most - 1:]
        candidate = f"{line} {word}" if line else word
        if len(candidate) <= most:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines or [""]


def _text_lines(x: float, y: float, lines: list[str], attributes: str = "", step: float = LINE_HEIGHT) -> str:
    """One ``<text>`` with a ``<tspan>`` per line."""
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if k == 0 else step}">{escape(line)}</tspan>'
                    for k, line in enumerate(lines))
    return f'<text x="{x:.1f}" y="{y:.1f}" {attributes}>{spans}</text>'


def _title(title: str, x: float, width: float) -> tuple[str, float]:
    """The chart's title, wrapped, and the height it takes."""
    lines = wrap(title, width, 13.5)  # bold 12 px: wider than the plain 11 px the estimate is made for
    return _text_lines(x, 18, lines, 'fill="#222" font-weight="600" font-size="12" class="title"', 15), 8 + 15 * len(lines)


@dataclass(frozen=True)
class TrendSeries:
    name: str
    points: dict[int, tuple[float, float | None, float | None]]  # year -> (proportion, ci_low, ci_high)
    style: str = "main"                                           # main | secondary


def _legend(items: list[tuple[str, str]], x0: float, y0: float, width: float) -> tuple[list[str], float]:
    """Legend entries (a sample drawn around (0, 0), a label), laid out in rows that wrap; their height."""
    parts, x, y, row_h = [], x0, y0, LINE_HEIGHT
    for sample, label in items:
        lines = wrap(label, min(width - 40, 260))
        entry = 28 + CHAR_WIDTH * max(len(line) for line in lines) + 14
        if x > x0 and x + entry > x0 + width:
            x, y, row_h = x0, y + row_h + 4, LINE_HEIGHT
        text = _text_lines(26, 4, lines, 'fill="#333"')
        parts.append(f'<g class="legend-item" transform="translate({x:.1f},{y:.1f})">{sample}{text}</g>')
        x += entry
        row_h = max(row_h, LINE_HEIGHT * len(lines))
    return parts, y - y0 + row_h + 4


def _sample_line(colour: str, dash: str = "", width: float = 2) -> str:
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<line x1="0" x2="22" y1="0" y2="0" stroke="{colour}" stroke-width="{width}"{dash_attr}/>'


def _sample_point(colour: str, radius: float = 4) -> str:
    return f'<circle cx="11" cy="0" r="{radius}" fill="{colour}"/>'


def trend_svg(series: list[TrendSeries], years: list[int], standard: float | None, title: str,
              width: int = 440, height: int = 230, year_labels: dict[int, str] | None = None) -> Markup:
    """Proportion per year (with 95 % interval whiskers for the main series) and the standard.
    A year without a figure breaks the line; ``year_labels`` names a year on the axis
    (``{2026: "2026 (til 01-11-2026)"}``)."""
    partial = bool(year_labels) and any(label != str(y) for y, label in (year_labels or {}).items())
    left, right = 46, 56 if partial else 24
    plot_w = width - left - right
    title_svg, top = _title(title, left, width - left - 16)
    top += 6
    legend_items = []
    for s in series:
        colour = COLOURS["main"] if s.style == "main" else COLOURS["secondary"]
        legend_items.append((_sample_line(colour, "" if s.style == "main" else "4 3") + _sample_point(colour, 3), s.name))
    if standard is not None:
        legend_items.append((_sample_line(COLOURS["standard"], "6 4", 1.5), f"standard {pct(standard, 0)}"))
    legend_parts, legend_h = _legend(legend_items, left - 30, 0, width - left + 20)
    axis_h = 36 if partial else 24
    plot_h = max(height - 100, 120)
    height = int(top + plot_h + axis_h + legend_h + 6)
    span = max(len(years) - 1, 1)

    def x(year: int) -> float:
        return left + (years.index(year) / span if len(years) > 1 else 0.5) * plot_w

    def y(value: float) -> float:
        return top + (1 - value) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trend" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" {FONT} font-size="11">',
             f"<title>{escape(title)}</title>",
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>', title_svg]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e3e6ea"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="#555">{tick * 100:.0f} %</text>')
    for year in years:
        label = (year_labels or {}).get(year, str(year))
        lines = [str(year)] if label == str(year) else [str(year), label[len(str(year)):].strip()]
        anchor = "middle"
        parts.append(_text_lines(x(year), top + plot_h + 16, lines,
                                 f'text-anchor="{anchor}" fill="#333" class="year" data-year="{year}"', 13))
    if standard is not None:
        parts.append(f'<line class="standard" x1="{left}" x2="{left + plot_w}" y1="{y(standard):.1f}" '
                     f'y2="{y(standard):.1f}" stroke="{COLOURS["standard"]}" stroke-dasharray="6 4" stroke-width="1.5"/>')
    for s in series:
        colour = COLOURS["main"] if s.style == "main" else COLOURS["secondary"]
        dashed = ' stroke-dasharray="4 3"' if s.style != "main" else ""
        # one line per run of consecutive years with a figure: a missing year breaks it
        runs, run = [], []
        for yr in years:
            if yr in s.points and s.points[yr][0] is not None:
                run.append(yr)
            else:
                if run:
                    runs.append(run)
                run = []
        if run:
            runs.append(run)
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{x(yr):.1f},{y(s.points[yr][0]):.1f}" for yr in run)
                parts.append(f'<polyline class="line" data-series="{escape(s.name)}" points="{path}" fill="none" '
                             f'stroke="{colour}" stroke-width="2"{dashed}/>')
        for yr in [yr for run in runs for yr in run]:
            value, low, high = s.points[yr]
            if s.style == "main" and low is not None and high is not None:
                parts.append(f'<line class="ci" x1="{x(yr):.1f}" x2="{x(yr):.1f}" y1="{y(low):.1f}" y2="{y(high):.1f}" '
                             f'stroke="{colour}" stroke-width="1.2"/>')
            parts.append(f'<circle class="point" data-series="{escape(s.name)}" data-year="{yr}" '
                         f'data-value="{value:.6f}" cx="{x(yr):.1f}" cy="{y(value):.1f}" r="{4 if s.style == "main" else 3}" '
                         f'fill="{colour}"><title>{escape(s.name)} {yr}: {escape(pct(value))}</title></circle>')
    if not any(s.points for s in series):
        parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="#777">'
                     "ingen tal at vise</text>")
    legend_y = top + plot_h + axis_h + 8
    parts.append(f'<g class="legend" transform="translate(30,{legend_y:.1f})">' + "".join(legend_parts) + "</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def nice_ticks(maximum: float, most: int = 6) -> list[int]:
    """0 and round steps (1, 2 or 5 × 10^k) up to ``maximum``, at most ``most`` + 1 ticks."""
    step = 1
    while maximum / step > most:
        for factor in (2, 5 / 2, 2):  # 1 → 2 → 5 → 10 → 20 …
            step = round(step * factor)
            if maximum / step <= most:
                break
    return list(range(0, int(maximum) + 1, step))


@dataclass(frozen=True)
class FunnelPoint:
    unit: str          # department code
    label: str         # department name
    numerator: int
    denominator: int


FUNNEL_MARGINS = (52, 20, 30, 62)  # left, right, top, bottom


def _funnel_scales(max_n: int, y_min: float, width: int, height: int, top: float = FUNNEL_MARGINS[2],
                   plot_h: float | None = None):
    """The funnel plot's x (denominator) and y (proportion) as functions to pixels."""
    left, right, _, bottom = FUNNEL_MARGINS
    plot_w = width - left - right
    plot_h = height - top - bottom if plot_h is None else plot_h
    x_max = max_n * 1.08

    def x(n: float) -> float:
        return left + n / x_max * plot_w

    def y(value: float) -> float:
        return top + (1 - (min(value, 1.0) - y_min) / (1 - y_min)) * plot_h

    return x, y


@lru_cache(maxsize=256)
def _limit_paths(theta: float, max_n: int, y_min: float, width: int, height: int, top: float,
                 plot_h: float) -> dict[str, str]:
    """The limit lines' points (the same on every dashboard of an indicator: drawn once)."""
    x, y = _funnel_scales(max_n, y_min, width, height, top, plot_h)
    curve = funnel_limits.limit_curve(theta, int(max_n * 1.08) + 1)
    return {attr: " ".join(f"{x(c.n):.1f},{y(getattr(c, attr)):.1f}" for c in curve)
            for attr in ("low_998", "high_998", "low_95", "high_95")}


def funnel_svg(points: list[FunnelPoint], theta: float | None, standard: float | None, title: str,
               highlight: str | None = None, width: int = 560, height: int = 340) -> Markup:
    """Proportion against denominator with 95 % and 99,8 % limits around ``theta``.

    Units outside the 95 % limits are labelled; with ``highlight`` that unit is drawn large
    and the others grey. Units at the same place (same numerator and denominator) are set
    side by side and the group is labelled with its size."""
    left, right, _, bottom = FUNNEL_MARGINS
    plot_w = width - left - right
    usable = [p for p in points if p.denominator > 0]
    title_svg, top = _title(title, left, plot_w)
    top += 4
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart funnel" viewBox="0 0 {width} {{height}}" '
            f'width="{width}" height="{{height}}" role="img" aria-label="{escape(title)}" {FONT} font-size="11">'
            f"<title>{escape(title)}</title>"
            f'<rect x="0" y="0" width="{width}" height="{{height}}" fill="#fff"/>' + title_svg)
    if theta is None or not usable:
        return Markup(head.replace("{height}", str(height))
                      + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#777">'
                      "ingen afdelinger med tal at vise</text></svg>")
    degenerate = theta <= 0.0 or theta >= 1.0
    legend_items = [(_sample_line(COLOURS["centre"], "", 2), f"landsandel {pct(theta)}")]
    if not degenerate:
        legend_items += [(_sample_line(COLOURS["limit"], "5 3", 1.1), "95 %-kontrolgrænser"),
                         (_sample_line(COLOURS["limit"], "1.5 2.5", 1.4), "99,8 %-kontrolgrænser")]
    if standard is not None:
        legend_items.append((_sample_line(COLOURS["standard"], "6 4", 1.5), f"standard {pct(standard, 0)}"))
    if highlight is not None:
        legend_items.append((_sample_point(COLOURS["inside"], 6), "afdelingen"))
        legend_items.append((_sample_point("#b9bec6", 3.5), "andre afdelinger"))
    legend_parts, legend_h = _legend(legend_items, 0, 0, width - left)
    note_lines = (wrap(f"Landsandelen er {pct(theta, 0)}: alle afdelinger har {pct(theta, 0)}, så "
                       "kontrolgrænserne falder sammen med landsandelen, og tragten har ingen bredde (der er "
                       "ingen spredning at vurdere).", plot_w) if degenerate else [])
    note_h = LINE_HEIGHT * len(note_lines) + (4 if note_lines else 0)
    plot_h = max(height - 30 - bottom, 160)
    height = int(top + plot_h + 36 + legend_h + note_h + 6)
    max_n = max(max(p.denominator for p in usable), 10)
    x_max = max_n * 1.08
    # the y axis spans the units, θ and the standard with a margin; wider limits are clipped
    lowest = min([p.numerator / p.denominator for p in usable] + [theta]
                 + ([standard] if standard is not None else []))
    y_min = max(0.0, math.floor((lowest - 0.1) * 10) / 10)
    if y_min >= 1.0:
        y_min = 0.9
    x, y = _funnel_scales(max_n, y_min, width, height, top, plot_h)

    clip_id = "clip-" + hashlib.sha1(f"{title}|{highlight}".encode("utf-8")).hexdigest()[:12]
    parts = [head.replace("{height}", str(height)),
             f'<clipPath id="{clip_id}"><rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/></clipPath>']
    step = 0.2 if y_min < 0.4 else (0.1 if y_min < 0.75 else 0.05)
    for k in range(round((1 - y_min) / step) + 1):
        value = y_min + k * step
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#eef0f3"/>')
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" fill="#555">{escape(pct(value, 0))}</text>')
    for n in nice_ticks(x_max):
        parts.append(f'<line x1="{x(n):.1f}" x2="{x(n):.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="#999"/>')
        parts.append(f'<text x="{x(n):.1f}" y="{top + plot_h + 15}" text-anchor="middle" fill="#555">{n}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h + 30}" text-anchor="middle" fill="#333">'
                 "nævner (antal patienter i indikatoren)</text>")
    clip = f'clip-path="url(#{clip_id})"'
    if not degenerate:
        paths = _limit_paths(theta, max_n, y_min, width, height, top, plot_h)
        for attr, dash in (("low_998", "1.5 2.5"), ("high_998", "1.5 2.5"), ("low_95", "5 3"), ("high_95", "5 3")):
            parts.append(f'<polyline class="limit limit-{attr}" points="{paths[attr]}" fill="none" '
                         f'stroke="{COLOURS["limit"]}" stroke-width="{1.4 if attr.endswith("998") else 1.1}" '
                         f'stroke-dasharray="{dash}" {clip}/>')
    parts.append(f'<line class="centre" x1="{left}" x2="{left + plot_w}" y1="{y(theta):.1f}" y2="{y(theta):.1f}" '
                 f'stroke="{COLOURS["centre"]}" stroke-width="2"/>')
    if standard is not None:
        parts.append(f'<line class="standard" x1="{left}" x2="{left + plot_w}" y1="{y(standard):.1f}" '
                     f'y2="{y(standard):.1f}" stroke="{COLOURS["standard"]}" stroke-dasharray="6 4" stroke-width="1.5"/>')
    # units at the same place: side by side, the group counted
    groups: dict[tuple[int, int], list[FunnelPoint]] = {}
    for p in sorted(usable, key=lambda p: (p.unit == highlight, p.label, p.unit)):
        groups.setdefault((p.numerator, p.denominator), []).append(p)
    labels, own = [], None
    for (numerator, denominator), members in groups.items():
        value = numerator / denominator
        where = funnel_limits.position(numerator, denominator, theta)
        cx, cy = x(denominator), y(value)
        spread = 8.0
        for k, p in enumerate(members):
            colour, radius = COLOURS[where], 4.5
            if highlight is not None:
                if p.unit == highlight:
                    colour, radius = COLOURS[where] if where != "inside" else COLOURS["inside"], 7
                else:
                    colour, radius = "#b9bec6", 3.5
            px = cx + (k - (len(members) - 1) / 2) * spread
            parts.append(f'<circle class="point pos-{where}" data-unit="{escape(p.unit)}" data-numerator="{numerator}" '
                         f'data-denominator="{denominator}" data-position="{where}" data-group="{len(members)}" '
                         f'cx="{px:.1f}" cy="{cy:.1f}" r="{radius}" fill="{colour}" stroke="#fff" stroke-width="1">'
                         f"<title>{escape(p.label)}: {numerator}/{denominator} = {escape(pct(value))} "
                         f"({escape(funnel_limits.POSITION_TEXT[where])})</title></circle>")
            if p.unit == highlight:
                own = (px, cy, p, len(members))
        if len(members) > 1:
            parts.append(f'<text class="group" x="{cx:.1f}" y="{cy + 17:.1f}" text-anchor="middle" fill="#555" '
                         f'font-size="10">{len(members)} afd.</text>')
        if where not in ("inside", "none"):
            labels.append((cx, cy, ", ".join(m.label for m in members)))
    if own is not None:
        px, cy, p, size = own
        labels = [lab for lab in labels if p.label not in lab[2]]
        others = "1 anden afdeling" if size == 2 else f"{size - 1} andre afdelinger"
        text = p.label + (f" (og {others} på samme sted)" if size > 1 else "")
        labels.append((px, cy, text))
    for lx, ly, text in labels:
        anchor = "end" if lx > left + plot_w * 0.6 else "start"
        dx = -10 if anchor == "end" else 10
        lines = wrap(text, plot_w * 0.55, 11)[:3]
        above = ly - 8 - LINE_HEIGHT * (len(lines) - 1)
        first = above if above - 11 > top else ly + 30  # below the point (and its group's count) near the top
        parts.append(_text_lines(lx + dx, first, lines, f'class="label" text-anchor="{anchor}" fill="#222"'))
    legend_y = top + plot_h + 48
    parts.append(f'<g class="legend" transform="translate({left - 30},{legend_y:.1f})">' + "".join(legend_parts) + "</g>")
    if note_lines:
        parts.append(_text_lines(left, legend_y + legend_h + 8, note_lines, 'class="note" fill="#7b4a00"'))
    parts.append("</svg>")
    return Markup("".join(parts))
