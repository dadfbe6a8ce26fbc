"""Time zones as clients type them (`dialogs.zones`): what resolves to what, and what not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs.reminders import find_zone
from dialogs.zones import ABBREVIATIONS, resolve, zone_label

RESOLVES = [
    # IANA names, any case, spaces for underscores
    ("Europe/Berlin", "Europe/Berlin", "zone"),
    (" america/chicago ", "America/Chicago", "zone"),
    ("america/new york", "America/New_York", "zone"),
    ("Etc/GMT-3", "Etc/GMT-3", "zone"),
    # cities: the last part of a zone name, case/space/underscore/accent-insensitive
    ("Berlin", "Europe/Berlin", "city"),
    ("berlin", "Europe/Berlin", "city"),
    ("new york", "America/New_York", "city"),
    ("NEW_YORK", "America/New_York", "city"),
    ("Sao Paulo", "America/Sao_Paulo", "city"),
    ("São Paulo", "America/Sao_Paulo", "city"),
    ("Buenos Aires", "America/Argentina/Buenos_Aires", "city"),
    ("port au prince", "America/Port-au-Prince", "city"),
    ("St. John's", "America/St_Johns", "city"),
    ("Kyiv", "Europe/Kyiv", "city"),
    ("Munich", "Europe/Berlin", "city"),
    # countries: names from tzdata's iso3166.tab, everyday names, ISO codes
    ("Germany", "Europe/Berlin", "country"),
    ("portugal", "Europe/Lisbon", "country"),
    ("DE", "Europe/Berlin", "country"),
    ("us", "America/New_York", "country"),
    ("USA", "America/New_York", "country"),
    ("United Kingdom", "Europe/London", "country"),
    ("England", "Europe/London", "country"),
    ("South Korea", "Asia/Seoul", "country"),
    ("Japan", "Asia/Tokyo", "country"),
    ("Russia", "Europe/Moscow", "country"),
    ("Brazil", "America/Sao_Paulo", "country"),
    ("Australia", "Australia/Sydney", "country"),
    ("Canada", "America/Toronto", "country"),
    ("India", "Asia/Kolkata", "country"),
    ("Côte d'Ivoire", "Africa/Abidjan", "country"),
    ("the Netherlands", "Europe/Amsterdam", "country"),
    ("NO", "Europe/Oslo", "country"),
    # abbreviations (ambiguous ones pick one)
    ("CET", "Europe/Berlin", "abbreviation"),
    ("cest", "Europe/Berlin", "abbreviation"),
    ("EET", "Europe/Athens", "abbreviation"),
    ("GMT", "Europe/London", "abbreviation"),
    ("BST", "Europe/London", "abbreviation"),
    ("EST", "America/New_York", "abbreviation"),
    ("EDT", "America/New_York", "abbreviation"),
    ("CST", "America/Chicago", "abbreviation"),
    ("PST", "America/Los_Angeles", "abbreviation"),
    ("IST", "Asia/Kolkata", "abbreviation"),
    ("JST", "Asia/Tokyo", "abbreviation"),
    ("AEST", "Australia/Sydney", "abbreviation"),
    ("MSK", "Europe/Moscow", "abbreviation"),
    # UTC offsets: whole hours to Etc/GMT with the sign inverted, others to a real zone
    ("UTC", "Etc/UTC", "offset"),
    ("utc", "Etc/UTC", "offset"),
    ("UTC+3", "Etc/GMT-3", "offset"),
    ("utc +2", "Etc/GMT-2", "offset"),
    ("GMT-5", "Etc/GMT+5", "offset"),
    ("gmt - 5", "Etc/GMT+5", "offset"),
    ("UTC−3", "Etc/GMT+3", "offset"),  # a typographic minus
    ("+3", "Etc/GMT-3", "offset"),
    ("UTC+0", "Etc/UTC", "offset"),
    ("UTC+14", "Etc/GMT-14", "offset"),
    ("-12", "Etc/GMT+12", "offset"),
    ("+05:30", "Asia/Kolkata", "offset"),
    ("utc+0530", "Asia/Kolkata", "offset"),
    ("+09:30", "Australia/Darwin", "offset"),
    ("UTC+5:45", "Asia/Kathmandu", "offset"),
    ("-03:30", "America/St_Johns", "offset"),
]

REFUSED = [
    "",
    "   ",
    "Mars/Olympus",
    "Middle Earth/Shire",
    "Atlantis",
    "hello",
    "Berlinn",
    "berlin germany",
    "Springfield",
    "UTC+15",
    "UTC-13",
    "GMT+25",
    "+02:30",
    "UTC+3:15",
    "+05:75",
    "no",  # a word, not Norway ("NO" in capitals is)
    "it",
    "12345",
    "Europe/",
    "<b>Berlin</b>",
    "x" * 100,
    "Factory",
]


@pytest.mark.parametrize(("typed", "zone", "kind"), RESOLVES)
def test_resolves(typed: str, zone: str, kind: str) -> None:
    found = resolve(typed)
    assert found is not None, typed
    assert (found.zone, found.kind) == (zone, kind)
    ZoneInfo(found.zone)  # every answer is a zone the plan can store and open
    assert find_zone(typed) == zone


@pytest.mark.parametrize("typed", REFUSED)
def test_does_not_resolve(typed: str) -> None:
    assert resolve(typed) is None
    assert find_zone(typed) is None


def test_the_tables_are_large_enough() -> None:
    assert len(RESOLVES) >= 30 and len(REFUSED) >= 15


def test_whole_hour_offsets_have_the_offset_they_name() -> None:
    moment = datetime(2026, 7, 1, 12, tzinfo=UTC)
    for hours in range(-12, 15):
        typed = f"UTC{hours:+d}"
        found = resolve(typed)
        assert found is not None, typed
        assert moment.astimezone(ZoneInfo(found.zone)).utcoffset() == timedelta(hours=hours)
        assert zone_label(found.zone) == ("UTC" if hours == 0 else typed)


def test_every_abbreviation_names_a_zone() -> None:
    for zone in ABBREVIATIONS.values():
        ZoneInfo(zone)


def test_labels_show_offsets_the_way_clients_write_them() -> None:
    assert zone_label("Etc/GMT-3") == "UTC+3"
    assert zone_label("Etc/GMT+5") == "UTC-5"
    assert zone_label("Etc/UTC") == "UTC"
    assert zone_label("Europe/Berlin") == "Europe/Berlin"
