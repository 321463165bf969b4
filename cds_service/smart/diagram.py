"""The B-ALL pathway as an SVG map, with the child's position highlighted (pure, no I/O).

The layout follows CLINICAL.md §2: the front-line phases and their MRD branches, the Ph+ branch,
the infant KMT2A branches and the relapse branches. Boxes are position steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

BOX_W, BOX_H, GAP_X, LANE_H = 150, 58, 26, 92
# Characters per label line and lines per box: bold 11px text of 20 characters fits BOX_W, and
# four lines hold the longest step display without dropping words.
WRAP_CHARS, MAX_LINES = 20, 4


@dataclass(frozen=True)
class Lane:
    title: str
    columns: tuple[tuple[str, ...], ...]  # each column stacks alternative steps


LANES = (
    Lane(
        "Front line",
        (
            ("induction",),
            ("post-induction-mrd-unknown", "consolidation-mrd-negative"),
            ("consolidation-mrd-positive",),
            ("persistent-mrd",),
        ),
    ),
    Lane("Ph-positive", (("ph-positive",),)),
    Lane(
        "Infant (< 1 year)",
        (
            ("infant-kmt2a-unknown",),
            ("infant-kmt2a-germline", "infant-kmt2a-intermediate-risk"),
            ("infant-kmt2a-high-risk",),
        ),
    ),
    Lane(
        "Relapse",
        (
            ("relapse-assessment", "isolated-extramedullary-relapse"),
            ("relapse-cr2-mrd-negative", "relapse-mrd-positive"),
            ("multiple-relapse-refractory",),
        ),
    ),
)

LANE_STEPS = frozenset(step for lane in LANES for column in lane.columns for step in column)


def _lane_height(lane: Lane) -> int:
    return max(len(column) for column in lane.columns) * (BOX_H + 10) + 34


def render_pathway_svg(
    displays: Mapping[str, str], position: str | None, emphasised: str | None = None
) -> str:
    """Draw every lane; ``position`` is filled, ``emphasised`` (the card's step) is outlined."""
    parts: list[str] = []
    y = 8
    for lane in LANES:
        parts.append(f'<text class="lane-title" x="8" y="{y + 14}">{escape(lane.title)}</text>')
        parts.extend(_lane_boxes(lane, y + 24, displays, position, emphasised))
        y += _lane_height(lane)
    width = 8 + 4 * (BOX_W + GAP_X)
    label = "Pathway map" + (
        f"; current step: {displays.get(position, position)}" if position else ""
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pathway" role="img" '
        f'viewBox="0 0 {width} {y}" aria-label="{escape(label)}">' + "".join(parts) + "</svg>"
    )


def _lane_boxes(
    lane: Lane, top: int, displays: Mapping[str, str], position: str | None, emphasised: str | None
) -> list[str]:
    parts: list[str] = []
    for index, column in enumerate(lane.columns):
        x = 8 + index * (BOX_W + GAP_X)
        if index:
            mid = top + BOX_H // 2
            parts.append(
                f'<line class="arrow" x1="{x - GAP_X + 2}" y1="{mid}" x2="{x - 4}" y2="{mid}"/>'
            )
        for row, step in enumerate(column):
            parts.append(_box(step, x, top + row * (BOX_H + 10), displays, position, emphasised))
    return parts


def _box(
    step: str,
    x: int,
    y: int,
    displays: Mapping[str, str],
    position: str | None,
    emphasised: str | None,
) -> str:
    classes = ["step"]
    if step == position:
        classes.append("current")
    if step == emphasised:
        classes.append("from-card")
    display = displays.get(step, step)
    words = _wrap(display, WRAP_CHARS)
    lines = "".join(
        f'<tspan x="{x + BOX_W // 2}" dy="{0 if i == 0 else 13}">{escape(w)}</tspan>'
        for i, w in enumerate(words[:MAX_LINES])
    )
    shown = min(len(words), MAX_LINES)
    text_y = y + BOX_H // 2 - (13 * (shown - 1)) // 2 + 4
    return (
        f'<g class="{" ".join(classes)}" data-step="{escape(step)}">'
        f"<title>{escape(display)}</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="7"/>'
        f'<text x="{x + BOX_W // 2}" y="{text_y}" text-anchor="middle">{lines}</text></g>'
    )


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [text]
