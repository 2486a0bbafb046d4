"""Inline SVG drawn on the server: the site map and the charts. No tiles, no script, nothing fetched.

Colours follow the state (the same as the CSS badges), and every shape has a <title>, so a
phone user taps a dot and reads the site's name and counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from markupsafe import Markup, escape

from fleetmon.console.fleet import WORST_FIRST, Day, Group

COLOURS = {"up": "#2e7d32", "degraded": "#f9a825", "down": "#c62828", "unreachable": "#6a1b9a", "unknown": "#9e9e9e"}
STATE_ORDER = ("up", "degraded", "down", "unreachable", "unknown")


def site_map(groups: Sequence[Group], label: Callable[[Group], str], width: int = 640, height: int = 420) -> Markup:
    """Sites as dots placed by their devices' mean coordinates (equirectangular, fitted to the box)."""
    placed = [(g, p) for g in groups if (p := g.position) is not None]
    if not placed:
        return Markup("")
    lats = [p[0] for _, p in placed]
    lons = [p[1] for _, p in placed]
    pad = 20.0
    span_lat = max(max(lats) - min(lats), 1e-4)
    span_lon = max(max(lons) - min(lons), 1e-4)
    scale = min((width - 2 * pad) / span_lon, (height - 2 * pad) / span_lat)
    radius = 7 if len(placed) < 200 else 4
    parts = [f'<svg class="map" viewBox="0 0 {width} {height}" role="img" aria-label="map" xmlns="http://www.w3.org/2000/svg">',
             f'<rect width="{width}" height="{height}" fill="#eef3f7"/>']
    worst_last = sorted(placed, key=lambda gp: -WORST_FIRST.index(gp[0].worst))  # the worst drawn last, on top
    for group, (lat, lon) in worst_last:
        x = width / 2 + (lon - (min(lons) + max(lons)) / 2) * scale  # centred: one site sits in the middle
        y = height / 2 - (lat - (min(lats) + max(lats)) / 2) * scale
        href = "/site?" + urlencode({"area": group.area, "site": group.site})
        parts.append(f'<a href="{escape(href)}"><circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{COLOURS[group.worst.value]}" '
                     f'stroke="#fff" stroke-width="1"><title>{escape(label(group))}</title></circle></a>')
    parts.append("</svg>")
    return Markup("".join(parts))


def availability_chart(days: Sequence[Day], labels: dict[str, str], width: int = 640, height: int = 220) -> Markup:
    """One stacked bar per day: the share of device-time up, degraded, down, unreachable, unknown."""
    if not days:
        return Markup("")
    left, bottom, top = 36, 28, 10
    plot_h = height - bottom - top
    bar_w = (width - left - 10) / len(days)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for pct in (0, 50, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{pct}%</text>')
    for n, day in enumerate(days):
        x = left + n * bar_w + 2
        y = top + plot_h
        for state in STATE_ORDER:
            share = day.shares.get(state, 0.0)
            if share <= 0:
                continue
            h = plot_h * share
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" fill="{COLOURS[state]}">'
                         f'<title>{day.day:%d/%m} {escape(labels.get(state, state))}: {share * 100:.1f}%</title></rect>')
        parts.append(f'<text x="{x + (bar_w - 4) / 2:.1f}" y="{height - 10}" font-size="11" text-anchor="middle">{day.day:%d/%m}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(items: Sequence[tuple[str, int]], width: int = 640, colour: str = "#1565c0") -> Markup:
    """Horizontal bars with their label and count: faults by kind."""
    if not items:
        return Markup("")
    row_h, label_w = 24, 180
    height = row_h * len(items) + 8
    most = max(v for _, v in items) or 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for n, (name, value) in enumerate(items):
        y = 4 + n * row_h
        w = (width - label_w - 50) * value / most
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" font-size="12" text-anchor="end">{escape(name)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>'
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 16}" font-size="12">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
