"""Charts as PNG images for Telegram: the staff's /stats and a client's /progress.

Drawn with matplotlib's object API (`Figure`, Agg canvas), not `pyplot`: pyplot keeps global
state and is not safe in the worker threads the bot draws in, so replies to other clients
never wait for a chart. Every chart has the same pixel size, which Telegram shows whole on a
phone and which the tests check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, tzinfo
from io import BytesIO
from typing import Protocol, cast

from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from dialogs.render import environment

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


FONT = 16  # points: the /progress chart is read on a phone


def whole_ticks(axis: Axis) -> None:
    """Ticks on whole numbers only (the default locator, an AutoLocator, is a MaxNLocator)."""
    locator = axis.get_major_locator()
    assert isinstance(locator, MaxNLocator)
    locator.set_params(integer=True)


def progress_chart(
    weeks: Sequence[date],
    breaks: Sequence[int],
    pain: Sequence[int | None],
    *,
    breaks_label: str,
    pain_label: str,
    week_label: str,
) -> bytes:
    """A client's /progress: breaks done per week as bars (left axis) and the weekly pain
    score, where answered, as a line on a fixed 0-10 scale (right axis), in large type for a
    phone. Weeks are labelled by their Monday; the texts come from the templates
    (`dialogs.render.labels`)."""
    figure = new_figure()
    bars = figure.add_subplot()
    positions = range(len(weeks))
    bars.bar(positions, breaks, color="#7fb3d5", label=breaks_label)
    bars.set_ylabel(breaks_label, fontsize=FONT)
    bars.set_xlabel(week_label, fontsize=FONT)
    bars.set_xticks(positions, [f"{week:%d %b}" for week in weeks], rotation=45, ha="right")
    bars.set_ylim(0, max(5, *breaks) * 1.15)
    whole_ticks(bars.yaxis)
    line = bars.twinx()
    answered = [(x, score) for x, score in zip(positions, pain, strict=True) if score is not None]
    if answered:
        xs, ys = zip(*answered, strict=True)
        line.plot(xs, ys, color="#c0392b", marker="o", linewidth=2.5, label=pain_label)
    line.set_ylim(0, 10.5)
    line.set_yticks(range(0, 11, 2))
    line.set_ylabel(pain_label, fontsize=FONT)
    for axes in (bars, line):
        axes.tick_params(labelsize=FONT - 2)
    handles = bars.get_legend_handles_labels()[0] + line.get_legend_handles_labels()[0]
    bars.legend(handles=handles, loc="upper left", fontsize=FONT - 2)
    return to_png(figure)


Series = tuple[str, Sequence[int]]  # a legend label and one count per day


def stats_chart(dates: Sequence[date], panels: Sequence[Sequence[Series]], *, title: str) -> bytes:
    """Staff /stats: daily counts over the clinic's last days, one panel per group of series
    of a like size (so a few red-flag exits are not flattened beside hundreds of breaks),
    panels stacked on one shared day axis; weekends shaded. The texts come from the caller's
    template."""
    figure = new_figure()
    figure.suptitle(title, fontsize=15)
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    positions = list(range(len(dates)))
    colours = iter(("#2471a3", "#27ae60", "#8e44ad", "#c0392b", "#e67e22", "#16a085", "#7f8c8d"))
    for ax, panel in zip(axes, panels, strict=True):
        for x, day in zip(positions, dates, strict=True):
            if day.weekday() >= 5:
                ax.axvspan(x - 0.5, x + 0.5, color="#f2f3f4", zorder=0)
        for label, counts in panel:
            ax.plot(
                positions,
                counts,
                marker="o",
                markersize=4,
                linewidth=2,
                label=label,
                color=next(colours),
            )
        ax.set_ylim(0, max([4, *(n for _, counts in panel for n in counts)]) * 1.2)
        whole_ticks(ax.yaxis)
        ax.grid(axis="y", color="#d5d8dc", linewidth=0.8)
        ax.legend(loc="upper left", fontsize=11, framealpha=0.9)
        ax.tick_params(labelsize=11)
    step = max(1, len(dates) // 10)
    shown = positions[::-1][::step][::-1]  # always label the last day (today)
    axes[-1].set_xticks(shown, [f"{dates[x]:%a %d %b}" for x in shown], rotation=30, ha="right")
    axes[-1].set_xlim(-0.5, len(dates) - 0.5)
    return to_png(figure)


class _StatsChartTexts(Protocol):
    """What `staff/stats_chart.j2` defines, read as a module."""

    panels: Sequence[Sequence[tuple[str, str]]]  # per panel: (event kind, legend name)

    def title(self, dates: Sequence[date], zone: tzinfo) -> object: ...


def draw_stats(dates: Sequence[date], daily: Mapping[str, Sequence[int]], zone: tzinfo) -> bytes:
    """/stats's chart of `daily` (per event kind, one count per day of `dates`): which kinds
    share a panel, their legend names and the title come from `staff/stats_chart.j2`, so the
    chart and its caption name each figure alike."""
    texts = cast(_StatsChartTexts, environment().get_template("staff/stats_chart.j2").module)
    panels = [[(name, daily[kind]) for kind, name in panel] for panel in texts.panels]
    return stats_chart(dates, panels, title=str(texts.title(dates, zone)))
