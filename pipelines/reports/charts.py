"""Charts as inline SVG, drawn here (no JavaScript, no CDN): they work offline and in print.

Every text that reaches the SVG is escaped. Marks carry ``data-`` attributes (unit, year,
value) so a test, or a curious reader of the source, can check them against the tables.
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
           "low_998": "#b71c1c", "high_95": "#e67e22", "low_95": "#e67e22", "inside": "#1f5fa8", "none": "#999"}


def pct(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.{digits}f} %".replace(".", ",")


def _short(text: str, length: int = 30) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


@dataclass(frozen=True)
class TrendSeries:
    name: str
    points: dict[int, tuple[float, float | None, float | None]]  # year -> (proportion, ci_low, ci_high)
    style: str = "main"                                           # main | secondary


def trend_svg(series: list[TrendSeries], years: list[int], standard: float | None, title: str,
              width: int = 440, height: int = 230) -> Markup:
    """Proportion per year (with 95 % interval whiskers for the main series) and the standard."""
    left, right, top, bottom = 46, 16, 28, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    span = max(len(years) - 1, 1)

    def x(year: int) -> float:
        return left + (years.index(year) / span if len(years) > 1 else 0.5) * plot_w

    def y(value: float) -> float:
        return top + (1 - value) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trend" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" {FONT} font-size="11">',
             f"<title>{escape(title)}</title>",
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e3e6ea"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="#555">{tick * 100:.0f} %</text>')
    for year in years:
        parts.append(f'<text x="{x(year):.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#333">{year}</text>')
    if standard is not None:
        parts.append(f'<line class="standard" x1="{left}" x2="{left + plot_w}" y1="{y(standard):.1f}" '
                     f'y2="{y(standard):.1f}" stroke="{COLOURS["standard"]}" stroke-dasharray="6 4" stroke-width="1.5"/>')
        parts.append(f'<text x="{left + plot_w}" y="{y(standard) - 4:.1f}" text-anchor="end" '
                     f'fill="{COLOURS["standard"]}">standard {escape(pct(standard, 0))}</text>')
    legend_x = left
    dashed = " stroke-dasharray='4 3'"
    for s in series:
        colour = COLOURS["main"] if s.style == "main" else COLOURS["secondary"]
        known = [yr for yr in years if yr in s.points and s.points[yr][0] is not None]
        if len(known) > 1:
            path = " ".join(f"{x(yr):.1f},{y(s.points[yr][0]):.1f}" for yr in known)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"'
                         f'{dashed if s.style != "main" else ""}/>')
        for yr in known:
            value, low, high = s.points[yr]
            if s.style == "main" and low is not None and high is not None:
                parts.append(f'<line class="ci" x1="{x(yr):.1f}" x2="{x(yr):.1f}" y1="{y(low):.1f}" y2="{y(high):.1f}" '
                             f'stroke="{colour}" stroke-width="1.2"/>')
            parts.append(f'<circle class="point" data-series="{escape(s.name)}" data-year="{yr}" '
                         f'data-value="{value:.6f}" cx="{x(yr):.1f}" cy="{y(value):.1f}" r="{4 if s.style == "main" else 3}" '
                         f'fill="{colour}"><title>{escape(s.name)} {yr}: {escape(pct(value))}</title></circle>')
        parts.append(f'<rect x="{legend_x}" y="{height - 16}" width="12" height="4" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 16}" y="{height - 11}" fill="#333">{escape(_short(s.name, 34))}</text>')
        legend_x += 24 + 6.2 * min(len(s.name), 34)
    if not any(s.points for s in series):
        parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="#777">'
                     "ingen tal at vise</text>")
    parts.append(f'<text x="{left}" y="16" fill="#222" font-weight="600">{escape(_short(title, 70))}</text>')
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


def _funnel_scales(max_n: int, y_min: float, width: int, height: int):
    """The funnel plot's x (denominator) and y (proportion) as functions to pixels."""
    left, right, top, bottom = FUNNEL_MARGINS
    plot_w, plot_h = width - left - right, height - top - bottom
    x_max = max_n * 1.08

    def x(n: float) -> float:
        return left + n / x_max * plot_w

    def y(value: float) -> float:
        return top + (1 - (min(value, 1.0) - y_min) / (1 - y_min)) * plot_h

    return x, y


@lru_cache(maxsize=256)
def _limit_paths(theta: float, max_n: int, y_min: float, width: int, height: int) -> dict[str, str]:
    """The limit lines' points (the same on every dashboard of an indicator: drawn once)."""
    x, y = _funnel_scales(max_n, y_min, width, height)
    curve = funnel_limits.limit_curve(theta, int(max_n * 1.08) + 1)
    return {attr: " ".join(f"{x(c.n):.1f},{y(getattr(c, attr)):.1f}" for c in curve)
            for attr in ("low_998", "high_998", "low_95", "high_95")}


def funnel_svg(points: list[FunnelPoint], theta: float | None, standard: float | None, title: str,
               highlight: str | None = None, width: int = 560, height: int = 340) -> Markup:
    """Proportion against denominator with 95 % and 99,8 % limits around ``theta``.

    Units outside the 95 % limits are labelled; with ``highlight`` that unit is drawn large
    and the others grey."""
    left, right, top, bottom = FUNNEL_MARGINS
    plot_w, plot_h = width - left - right, height - top - bottom
    usable = [p for p in points if p.denominator > 0]
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart funnel" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" {FONT} font-size="11">'
            f"<title>{escape(title)}</title>"
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>'
            f'<text x="{left}" y="18" fill="#222" font-weight="600">{escape(_short(title, 80))}</text>')
    if theta is None or not usable:
        return Markup(head + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#777">'
                      "ingen afdelinger med tal at vise</text></svg>")
    max_n = max(max(p.denominator for p in usable), 10)
    x_max = max_n * 1.08
    # the y axis spans the units, θ and the standard with a margin; wider limits are clipped
    lowest = min([p.numerator / p.denominator for p in usable] + [theta]
                 + ([standard] if standard is not None else []))
    y_min = max(0.0, math.floor((lowest - 0.1) * 10) / 10)
    x, y = _funnel_scales(max_n, y_min, width, height)

    clip_id = "clip-" + hashlib.sha1(f"{title}|{highlight}".encode("utf-8")).hexdigest()[:12]
    parts = [head, f'<clipPath id="{clip_id}"><rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/></clipPath>']
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
    paths = _limit_paths(theta, max_n, y_min, width, height)
    for attr, dash in (("low_998", ""), ("high_998", ""), ("low_95", "5 3"), ("high_95", "5 3")):
        path = paths[attr]
        dash_attr = f" stroke-dasharray='{dash}'" if dash else ""
        parts.append(f'<polyline class="limit limit-{attr}" points="{path}" fill="none" stroke="#7a8594" '
                     f'stroke-width="1.1"{dash_attr} {clip}/>')
    parts.append(f'<line class="centre" x1="{left}" x2="{left + plot_w}" y1="{y(theta):.1f}" y2="{y(theta):.1f}" '
                 f'stroke="#333" stroke-width="1"/>')
    if standard is not None:
        parts.append(f'<line class="standard" x1="{left}" x2="{left + plot_w}" y1="{y(standard):.1f}" '
                     f'y2="{y(standard):.1f}" stroke="{COLOURS["standard"]}" stroke-dasharray="6 4" stroke-width="1.5"/>')
    labels = []
    for p in sorted(usable, key=lambda p: p.unit == highlight):
        value = p.numerator / p.denominator
        where = funnel_limits.position(p.numerator, p.denominator, theta)
        colour = COLOURS[where]
        radius = 4.5
        if highlight is not None:
            if p.unit == highlight:
                radius = 7
            else:
                colour, radius = "#b9bec6", 3.5
        parts.append(f'<circle class="point pos-{where}" data-unit="{escape(p.unit)}" data-numerator="{p.numerator}" '
                     f'data-denominator="{p.denominator}" data-position="{where}" cx="{x(p.denominator):.1f}" '
                     f'cy="{y(value):.1f}" r="{radius}" fill="{colour}" stroke="#fff" stroke-width="1">'
                     f"<title>{escape(p.label)}: {p.numerator}/{p.denominator} = {escape(pct(value))} "
                     f"({escape(funnel_limits.POSITION_TEXT[where])})</title></circle>")
        if where not in ("inside", "none") or p.unit == highlight:
            labels.append((x(p.denominator), y(value), p))
    for lx, ly, p in labels:
        anchor = "end" if lx > left + plot_w * 0.7 else "start"
        dx = -8 if anchor == "end" else 8
        parts.append(f'<text class="label" x="{lx + dx:.1f}" y="{ly - 6:.1f}" text-anchor="{anchor}" fill="#222">'
                     f"{escape(_short(p.label, 34))}</text>")
    legend_y = height - 14
    parts.append(f'<text x="{left}" y="{legend_y}" fill="#333">— national andel {escape(pct(theta))}'
                 f"   ┄ 95 %-grænser   — 99,8 %-grænser"
                 f"{'   ╌ standard ' + escape(pct(standard, 0)) if standard is not None else ''}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
