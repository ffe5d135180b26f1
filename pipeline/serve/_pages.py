"""The run viewer's HTML: pages rendered on the server from journaled data, pictures as inline SVG, one stylesheet
served by Loom itself; no script, nothing from a CDN.

Everything a page shows that came from a run (step and pipeline names, outputs, errors, URLs) is untrusted: it
reaches HTML only through :func:`text`, which escapes markup and shows control and bidi characters as escapes.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.core import inert_text

SHOWN_BYTES = 4096
"""Bytes of a step's input or output a page shows; the rest is left out, saying how much."""

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 10px 24px; display: flex; gap: 24px; align-items: baseline; }
header a { color: #cfd8ea; text-decoration: none; } header b { font-size: 17px; }
main { padding: 16px 24px; max-width: 1200px; }
table { border-collapse: collapse; width: 100%; background: #fff; margin: 8px 0 20px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e3e6eb; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
pre { background: #fff; border: 1px solid #e3e6eb; padding: 8px; overflow-x: auto; white-space: pre-wrap;
      word-break: break-all; margin: 4px 0; max-height: 320px; }
.badge { padding: 1px 7px; border-radius: 9px; font-size: 12px; color: #fff; background: #8a94a6; }
.succeeded { background: #2e8b57; } .failed { background: #c0392b; } .running { background: #d68910; }
.cached { background: #2874a6; } .skipped { background: #aab2bd; } .interrupted { background: #7d3c98; }
.queued { background: #8a94a6; } .aborted { background: #7f8c8d; }
.muted { color: #6b7385; } .error { color: #a93226; } pre.log { color: #44506a; background: #f8f9fb; }
form.filter { display: flex; gap: 8px; margin: 8px 0; } input, select, button { font: inherit; padding: 3px 6px; }
svg { background: #fff; border: 1px solid #e3e6eb; display: block; margin: 8px 0 20px; }
svg text { font: 12px system-ui, sans-serif; }
h2 { margin: 20px 0 4px; font-size: 16px; }
table.steps td:nth-child(6), table.steps td:nth-child(7) { width: 36%; max-width: 0; }
"""

STATUS_COLOURS = {
    "succeeded": "#2e8b57",
    "failed": "#c0392b",
    "running": "#d68910",
    "cached": "#2874a6",
    "skipped": "#aab2bd",
    "interrupted": "#7d3c98",
}


def text(value: object) -> str:
    """Untrusted text as HTML text: markup escaped, control and bidi characters shown as escapes."""
    return html.escape(inert_text(value), quote=True)


def lines(value: object) -> str:
    """Untrusted multi-line text for a ``<pre>``: its line breaks kept, everything else as :func:`text`."""
    return "\n".join(text(line) for line in str(value).split("\n"))


def bounded(value: Any) -> str:
    """A JSON value as at most ``SHOWN_BYTES`` of indented text, saying what was left out."""
    shown = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)
    data = shown.encode()
    if len(data) <= SHOWN_BYTES:
        return lines(shown)
    cut = data[:SHOWN_BYTES].decode(errors="ignore")
    return lines(cut) + f"\n<span class=muted>... {len(data) - SHOWN_BYTES:,} more bytes not shown</span>"


BADGES = frozenset(STATUS_COLOURS) | {"queued", "aborted"}


def badge(status: str) -> str:
    """A status in its colour (a status the viewer does not know is shown grey, as text)."""
    return f"<span class='badge {status if status in BADGES else ''}'>{text(status)}</span>"


def when(unix: float | None) -> str:
    return "-" if unix is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(unix))


def page(title: str, body: str, *, refresh: int | None = None) -> str:
    """A whole page; ``refresh`` reloads it every so many seconds (a run still running)."""
    meta = f"<meta http-equiv=refresh content={int(refresh)}>" if refresh else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width'>{meta}<title>{text(title)} · Loom</title>"
        "<link rel=stylesheet href='/static/viewer.css'></head><body>"
        "<header><b>Loom</b><a href='/'>runs</a><a href='/sessions'>proving sessions</a>"
        "<a href='/logout'>log out</a></header>"
        f"<main>{body}</main></body></html>"
    )


def table(headings: Sequence[str], rows: Iterable[Sequence[str]], empty: str = "nothing yet", css: str = "") -> str:
    """A table of already-escaped cells (``css``: a class of the stylesheet's)."""
    head = "".join(f"<th>{h}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        body = f"<tr><td colspan={len(headings)} class=muted>{text(empty)}</td></tr>"
    return f"<table class='{css}'><tr>{head}</tr>{body}</table>"


# --- pictures ---------------------------------------------------------------------------------------------------


def graph(steps: Sequence[str], deps: dict[str, set[str]], status: dict[str, str]) -> str:
    """The pipeline as a picture: steps in columns by depth (a step right of everything it reads), arrows from
    what a step reads to it, each box in its latest status's colour."""
    depth: dict[str, int] = {}

    def level(step: str, seen: frozenset[str] = frozenset()) -> int:
        if step not in depth:
            needs = [n for n in deps.get(step, ()) if n not in seen]
            depth[step] = 1 + max((level(n, seen | {step}) for n in needs), default=-1)
        return depth[step]

    columns: dict[int, list[str]] = {}
    for step in steps:
        columns.setdefault(level(step), []).append(step)
    box_w, box_h, gap_x, gap_y = 170, 34, 60, 18
    where = {
        step: (20 + col * (box_w + gap_x), 20 + row * (box_h + gap_y))
        for col, names in columns.items()
        for row, step in enumerate(names)
    }
    width = 40 + len(columns) * (box_w + gap_x)
    height = 40 + max((len(n) for n in columns.values()), default=1) * (box_h + gap_y)
    parts = [
        f"<svg width={width} height={height} viewBox='0 0 {width} {height}' role=img aria-label='pipeline graph'>",
        "<defs><marker id=arrow viewBox='0 0 10 10' refX=10 refY=5 markerWidth=7 markerHeight=7 orient=auto>"
        "<path d='M0,0 L10,5 L0,10 z' fill='#8a94a6'/></marker></defs>",
    ]
    for step, needs in deps.items():
        for need in needs:
            if need in where and step in where:
                (x1, y1), (x2, y2) = where[need], where[step]
                parts.append(
                    f"<line x1={x1 + box_w} y1={y1 + box_h // 2} x2={x2} y2={y2 + box_h // 2} stroke='#8a94a6' "
                    "marker-end='url(#arrow)'/>"
                )
    for step, (x, y) in where.items():
        colour = STATUS_COLOURS.get(status.get(step, ""), "#8a94a6")
        label = step if len(step) <= 22 else step[:21] + "…"
        parts.append(
            f"<g><title>{text(step)}: {text(status.get(step, 'not run'))}</title>"
            f"<rect x={x} y={y} width={box_w} height={box_h} rx=6 fill='{colour}'/>"
            f"<text x={x + 10} y={y + 22} fill='#fff'>{text(label)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Bar:
    """One attempt on the timeline."""

    step: str
    attempt: int
    status: str
    start: float
    end: float | None


def timeline(bars: Sequence[Bar], origin: float, now: float) -> str:
    """One row per step, one bar per attempt (a retry is a second bar on the row, a cache hit a thin blue mark),
    on a shared time axis from the run's start; a bar still running reaches ``now``."""
    if not bars:
        return "<p class=muted>no attempt yet</p>"
    rows = list(dict.fromkeys(b.step for b in bars))
    span = max(max((b.end or now) for b in bars) - origin, 0.001)
    label_w, plot_w, row_h = 180, 820, 26
    width, height = label_w + plot_w + 110, 30 + row_h * len(rows)  # room for the last bar's label
    scale = plot_w / span
    parts = [f"<svg width={width} height={height} viewBox='0 0 {width} {height}' role=img aria-label='timeline'>"]
    for tick in range(5):
        x = label_w + plot_w * tick / 4
        parts.append(f"<line x1={x:.1f} y1=18 x2={x:.1f} y2={height} stroke='#eef1f5'/>")
        parts.append(f"<text x={x:.1f} y=12 fill='#6b7385' text-anchor=middle>{span * tick / 4:.2f}s</text>")
    for i, step in enumerate(rows):
        y = 24 + i * row_h
        label = step if len(step) <= 24 else step[:23] + "…"
        parts.append(f"<text x=6 y={y + 14}>{text(label)}</text>")
    for bar in bars:
        y = 24 + rows.index(bar.step) * row_h
        x = label_w + (bar.start - origin) * scale
        w = max(((bar.end or now) - bar.start) * scale, 3)
        colour = STATUS_COLOURS.get(bar.status, "#8a94a6")
        took = f"{(bar.end or now) - bar.start:.3f}s" + ("" if bar.end else " so far")
        parts.append(
            f"<g><title>{text(bar.step)} attempt {bar.attempt}: {text(bar.status)}, {took}</title>"
            f"<rect x={x:.1f} y={y + 3} width={w:.1f} height={row_h - 8} rx=3 fill='{colour}'/>"
            f"<text x={x + w + 4:.1f} y={y + 15} fill='#6b7385'>#{bar.attempt} {text(bar.status)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def login(problem: str | None = None) -> str:
    said = f"<p class=error>{text(problem)}</p>" if problem else ""
    return page(
        "log in",
        "<h2>Log in with an API key</h2>"
        "<p class=muted>Make one with <code>loom serve keys add NAME</code>. It is kept in a cookie for this site "
        "only.</p>"
        f"{said}<form method=post action='/login' class=filter>"
        "<input type=password name=key autocomplete=off placeholder='loom_...' size=60 required>"
        "<button>log in</button></form>",
    )


def run_row(run: Any) -> list[str]:
    seconds = f"{run.finished_at - run.created_at:.1f}" if run.finished_at else "-"
    error = run.error or ""
    return [
        f"<a href='/runs/{text(run.run_id)}'>{text(run.run_id)}</a>",
        text(run.pipeline),
        badge(str(run.status)),
        when(run.created_at),
        seconds,
        f"<span class=error>{text(error[:160])}</span>",
    ]
