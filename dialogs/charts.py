"""Charts as PNG images for Telegram: the staff's /stats and a client's /progress.

Drawn with matplotlib's object API (`Figure`, Agg canvas), not `pyplot`: pyplot keeps global
state and is not safe in the worker threads the bot draws in, so replies to other clients
never wait for a chart. Every chart has the same pixel size, which Telegram shows whole on a
phone and which the tests check.
"""

from __future__ import annotations

from io import BytesIO

from matplotlib.figure import Figure

DPI = 100
WIDTH_PX, HEIGHT_PX = 1200, 800


def new_figure() -> Figure:
    """An empty figure of the standard size, laid out so labels are never cut off."""
    return Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")


def to_png(figure: Figure) -> bytes:
    """The figure as PNG bytes, exactly WIDTH_PX x HEIGHT_PX."""
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
