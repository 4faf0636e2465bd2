"""The table as a chart: one panel per key figure, one bar per server (a PNG, drawn with pygame).

``python bench/run.py --plot`` calls ``save_chart`` with the rows of the run's table
(``report.summarize``). Drawn headless (``SDL_VIDEODRIVER=dummy``), with pygame's own
font, so it needs nothing beyond the client's dependencies. Each bar is labelled with
its value and its ratio to ``ours-mem`` of the same run; a server without a value
(not run, skipped, failed) gets no bar and says why in one word.
"""

from __future__ import annotations

import os
from typing import Optional

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from report import OURS, cell, columns  # noqa: E402

# (workload, label in report.FIGURES, panel title); lower is better for all but rates.
PANELS = [
    ("burst", "server CPU us/delivery", "burst: server CPU per delivery, us (lower is better)"),
    ("steady", "server CPU us/delivery", "steady: server CPU per delivery, us (lower is better)"),
    ("steady", "latency p99 ms", "steady: latency p99, ms (lower is better)"),
    ("burst", "deliveries/s", "burst: deliveries/s (higher is better)"),
]
COLOURS = {"ours-mem": (38, 120, 200), "ours-file": (90, 160, 225), "tutorial": (170, 170, 170),
           "asyncio": (120, 120, 120), "ngircd": (210, 120, 40), "redis": (200, 60, 60)}
WIDTH, BAR_H, GAP, MARGIN, LABEL_W = 1000, 22, 6, 16, 110
BACKGROUND, INK = (255, 255, 255), (30, 30, 30)


def _number(v) -> Optional[float]:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def save_chart(rows: list, path: str, title: str) -> str:
    """Draw the panels that ``rows`` have a value for into the PNG at ``path``."""
    kinds = columns(rows)
    found = {(r["workload"], r["label"]): r for r in rows}
    panels = [(found[(w, label)], name) for w, label, name in PANELS if (w, label) in found]
    if not panels:
        raise ValueError("no burst or steady figures to plot")
    pygame.font.init()
    font = pygame.font.Font(None, 22)
    bold = pygame.font.Font(None, 26)
    panel_h = 30 + len(kinds) * (BAR_H + GAP) + MARGIN
    surface = pygame.Surface((WIDTH, 40 + len(panels) * panel_h + MARGIN))
    surface.fill(BACKGROUND)
    surface.blit(bold.render(title, True, INK), (MARGIN, MARGIN))
    y = 40 + MARGIN
    for row, name in panels:
        y = _panel(surface, font, row, name, kinds, y) + MARGIN
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    pygame.image.save(surface, path)
    return path


def _panel(surface, font, row: dict, name: str, kinds: list, y: int) -> int:
    surface.blit(font.render(name, True, INK), (MARGIN, y))
    y += 26
    values = row["values"]
    top = max((_number(values.get(k)) or 0 for k in kinds), default=0) or 1
    ours = _number(values.get(OURS))
    room = WIDTH - LABEL_W - 2 * MARGIN - 300
    for kind in kinds:
        surface.blit(font.render(kind, True, INK), (MARGIN, y + 4))
        value = _number(values.get(kind))
        x0 = MARGIN + LABEL_W
        if value is None:
            why = values.get(kind)
            text = "not run" if why is None else str(why).split(":")[0]
        else:
            width = max(1, round(room * value / top))
            pygame.draw.rect(surface, COLOURS.get(kind, (100, 100, 100)),
                             (x0, y, width, BAR_H))
            x0 += width
            text = cell(value, row["digits"])
            if ours and kind != OURS:
                text += f"   (ours-mem / {kind}: {ours / value:.2f}x)" if value else ""
        surface.blit(font.render(text, True, INK), (x0 + 6, y + 4))
        y += BAR_H + GAP
    return y
