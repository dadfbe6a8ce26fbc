"""The clinic's own facts (`clinic.yaml` in its content folder): name, where it is, when it is
open, whom to call in an emergency in its country, and the services it books. Every text the
bot writes takes them from here; none is written into the code or a shipped template."""

from __future__ import annotations

import re
from datetime import date
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from dialogs.content_file import Located
from dialogs.opening_hours import OpeningHours, parse_week
from dialogs.telegram_html import HtmlError, parse_html

PACK = Path(__file__).with_name("pack")  # the shipped example clinic's content
_URL_RE = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]+(/\S*)?$")
_SERVICE_ID = r"^[a-z0-9_]{1,24}$"


def _public_url(value: str) -> str:
    value = value.strip()
    if not _URL_RE.match(value):
        raise ValueError("must be a public http(s) URL such as https://example.com/book")
    return value


def _telegram_html(value: str) -> str:
    try:
        parse_html(value)
    except HtmlError as exc:
        raise ValueError(f"is not valid Telegram HTML: {exc}") from None
    return value.strip()


Url = Annotated[str, AfterValidator(_public_url)]
Html = Annotated[str, Field(min_length=1, max_length=600), AfterValidator(_telegram_html)]
Plain = Annotated[str, Field(min_length=1, max_length=300)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Service(_Strict):
    """One bookable service. `name` and `line` appear in results; the rest answers questions
    about it; `booking_page` is where its Book button goes."""

    name: str = Field(min_length=1, max_length=64)
    line: str = Field(min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=1000)
    duration: str | None = Field(default=None, max_length=64)
    price: str | None = Field(default=None, max_length=120)
    booking_page: Url
    booking_provider: Literal["calcom", "calendly", "generic"] | None = None


class Number(_Strict):
    number: str = Field(min_length=1, max_length=20)
    where: str | None = Field(default=None, max_length=60)  # "UK", "Europe"; none: one country


class CrisisLine(_Strict):
    name: Plain
    number: str = Field(min_length=1, max_length=20)  # as staff are told: "116 123"
    where: str | None = Field(default=None, max_length=60)
    how: Html  # "call <b>116 123</b>, free, day or night"
    # A button to the line's own page ("💛 Samaritans: talk to someone now"), if it has one.
    button: str | None = Field(default=None, min_length=1, max_length=64)
    url: Url | None = None


class Emergency(_Strict):
    """The emergency numbers and the words for urgent care in the clinic's country. A
    clinician approves these words: they reach clients at their worst moment."""

    numbers: list[Number] = Field(min_length=1, max_length=4)
    urgent_care: Plain  # where to go now: "A&E / the emergency department"
    doctor_today: Plain  # whom to contact today: "your GP, an urgent care centre or NHS 111"
    phone_doctor: Plain  # a doctor by phone: "NHS 111 or a doctor on the phone"
    crisis_lines: list[CrisisLine] = Field(min_length=1, max_length=6)

    @model_validator(mode="after")
    def _buttons_have_links(self) -> Emergency:
        for line in self.crisis_lines:
            if (line.button is None) != (line.url is None):
                raise ValueError(
                    f"crisis_lines {line.name!r}: a button needs a url, and a url a button"
                )
        return self

    @property
    def short(self) -> str:
        """The numbers as one writes them in a line: 999 / 112 / 911."""
        return " / ".join(n.number for n in self.numbers)

    @property
    def lines_short(self) -> str:
        """The crisis lines as staff are told them: Samaritans 116 123, NHS 111 111."""
        return ", ".join(f"{line.name} {line.number}" for line in self.crisis_lines)


class Clinic(_Strict):
    name: Plain  # in full, as on the door: "BodyMechanix Muscular Therapy"
    short_name: str | None = Field(default=None, max_length=64)  # in a sentence: "BodyMechanix"
    website: Url
    address: str | None = Field(default=None, max_length=300)
    map_url: Url | None = None
    phone: str | None = Field(default=None, max_length=40)
    timezone: str = "Europe/London"
    # As on the door: "Mon-Fri 09:00-18:00; Sat 10:00-14:00" (dialogs/opening_hours.py).
    hours: str = Field(min_length=1, max_length=300)
    holidays: list[date] = Field(default_factory=list)
    what_to_bring: str | None = Field(default=None, max_length=600)
    emergency: Emergency
    # The languages clients are answered in (each with its catalogue, dialogs/locale), the
    # first the default for a client whose Telegram is in none of them.
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2}$")]] = Field(
        default_factory=lambda: ["en"], min_length=1, max_length=8
    )
    services: dict[Annotated[str, Field(pattern=_SERVICE_ID)], Service] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone name such as Europe/London") from None
        return value.strip()

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        parse_week(value)  # raises ValueError naming the wrong part
        return value.strip()

    def language_for(self, language_code: str | None) -> str:
        """The language to answer someone whose Telegram is in `language_code` ("es-MX"):
        theirs if the clinic offers it, else the clinic's first."""
        primary = (language_code or "").split("-")[0].lower()
        return primary if primary in self.languages else self.languages[0]

    @property
    def called(self) -> str:
        """How a sentence names the clinic."""
        return self.short_name or self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def opening_hours(self) -> OpeningHours:
        return OpeningHours(parse_week(self.hours), self.zone, frozenset(self.holidays))

    @property
    def booking_urls(self) -> dict[str, str]:
        """Booking page per service id."""
        return {sid: service.booking_page for sid, service in self.services.items()}


def load_clinic(path: Path) -> Clinic:
    """`clinic.yaml`, checked; ContentError names each mistake's line and field."""
    return Located.read(path).model(Clinic)


@cache
def shipped_clinic() -> Clinic:
    """The example clinic shipped in the project (the default content)."""
    return load_clinic(PACK / "clinic.yaml")
