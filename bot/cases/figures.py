"""Staff figures as use cases: /stats (a chart of each day and the detailed figures) and
/export (the funnel of clients with health consent as CSV). Drawing and writing the file take
a CPU-bound moment, so they run in a worker thread and other chats are answered meanwhile."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.services import Services
from dialogs.charts import draw_stats
from dialogs.export import to_csv
from dialogs.render import environment, render
from storage import export, stats


@dataclass(frozen=True)
class Figures:
    """/stats: the chart with the totals as its caption, then the detailed figures (they
    never fit a caption's 1024 characters)."""

    chart: bytes
    caption: str
    details: str


async def figures(services: Services) -> Figures:
    """The clinic's last 7 and 30 days, in its own zone."""
    now = services.clock()
    zone = services.clinic.zone
    known = tuple(services.questionnaire.services)
    found = await services.db.read(lambda s: stats.collect(s, now, zone=zone, services=known))
    chart = await asyncio.to_thread(draw_stats, found.dates, found.daily, zone)
    caption = render("staff/stats_caption", stats=found, zone=zone)
    details = render(
        "staff/stats",
        stats=found,
        services=services.questionnaire.services,
        local_now=now.astimezone(zone),
    )
    return Figures(chart, caption, details)


@dataclass(frozen=True)
class Export:
    """/export: the CSV file, its name (the clinic's date), a caption saying what is (not) in
    it, and the clients it names (the file is a post about each of them)."""

    content: bytes
    name: str
    caption: str
    clients: list[int]


async def funnel(services: Services) -> Export:
    """No contact details (see `storage.export`), only clients with health consent."""
    zone = services.clinic.zone
    rows = await services.db.read(lambda s: export.funnel(s, zone))
    texts = vars(environment().get_template("staff/export.j2").module)  # its top-level values
    content = await asyncio.to_thread(
        to_csv,
        rows,
        texts["columns"],
        texts["words"],
        bands=texts["bands"],
        services={key: s.name for key, s in services.questionnaire.services.items()},
    )
    name = str(texts["file_name"](services.clock().astimezone(zone).date()))
    caption = render("staff/export_caption", count=len(rows), zone=zone)
    return Export(content, name, caption, [row.client_id for row in rows])
