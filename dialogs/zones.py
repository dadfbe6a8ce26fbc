"""A time zone from what a client types: an IANA name, a city, a country, an abbreviation or
a UTC offset. Pure: no clock, no database; the tables are read once from `tzdata`.

`resolve(text)` tries, in order (the first that matches wins):
1. a UTC offset: "UTC", "UTC+3", "GMT-5", "utc +2", "+05:30", "-0330". Whole hours become
   `Etc/GMT∓N` (POSIX sign: UTC+3 is `Etc/GMT-3`); a half- or quarter-hour offset becomes a
   representative IANA zone that has it (`_ODD_OFFSETS`: +05:30 is Asia/Kolkata, +09:30
   Australia/Darwin...), because a plan stores a zone name that `ZoneInfo` opens, and there
   is no `Etc/` zone for those;
2. a common abbreviation (`ABBREVIATIONS`). Ambiguous ones pick one: IST is India (not
   Ireland or Israel), CST is US Central (not China), AST is Atlantic (not Arabia), GST is the
   Gulf; GMT is UK time (Europe/London, so BST in summer; "UTC" is the fixed one);
3. an IANA name, case-insensitive, spaces for underscores ("europe/paris");
4. a country: its English name as in tzdata's `iso3166.tab` (plus a few everyday names such as
   "USA" or "England"), or its two-letter ISO code ("DE", "us"; codes that are also English
   words, such as "no" or "it", only in capitals). A country with several zones gets its most
   populous or capital one (`_COUNTRY_ZONE`, else the first in tzdata's `zone.tab`); the
   client is shown the zone and can type a city instead;
5. a city: the last part of any zone name ("berlin", "new york", "Sao Paulo", "são paulo"),
   case-, space-, underscore-, hyphen- and accent-insensitive, plus a few big cities that are
   not zone names (`_CITY_ALIASES`).
Anything else is None: the caller says it does not know that zone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from zoneinfo import available_timezones

MAX_TYPED = 64

ABBREVIATIONS = {
    "GMT": "Europe/London",
    "BST": "Europe/London",
    "WET": "Europe/Lisbon",
    "WEST": "Europe/Lisbon",
    "CET": "Europe/Berlin",
    "CEST": "Europe/Berlin",
    "MET": "Europe/Berlin",
    "MEST": "Europe/Berlin",
    "EET": "Europe/Athens",
    "EEST": "Europe/Athens",
    "MSK": "Europe/Moscow",
    "TRT": "Europe/Istanbul",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "CST": "America/Chicago",  # not China Standard Time: type "China" or "Shanghai"
    "CDT": "America/Chicago",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "AKST": "America/Anchorage",
    "AKDT": "America/Anchorage",
    "HST": "Pacific/Honolulu",
    "AST": "America/Halifax",  # Atlantic, not Arabia Standard Time
    "ADT": "America/Halifax",
    "NST": "America/St_Johns",
    "NDT": "America/St_Johns",
    "BRT": "America/Sao_Paulo",
    "ART": "America/Argentina/Buenos_Aires",
    "IST": "Asia/Kolkata",  # India, not Irish or Israel Standard Time
    "PKT": "Asia/Karachi",
    "GST": "Asia/Dubai",  # Gulf, not South Georgia
    "IRST": "Asia/Tehran",
    "ICT": "Asia/Bangkok",
    "WIB": "Asia/Jakarta",
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "PHT": "Asia/Manila",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "AWST": "Australia/Perth",
    "ACST": "Australia/Darwin",
    "ACDT": "Australia/Adelaide",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
    "WAT": "Africa/Lagos",
    "CAT": "Africa/Maputo",
    "EAT": "Africa/Nairobi",
    "SAST": "Africa/Johannesburg",
}

# Offsets that are not whole hours: an IANA zone that keeps it all year where one exists.
_ODD_OFFSETS = {
    -570: "Pacific/Marquesas",
    -210: "America/St_Johns",  # -02:30 in summer
    210: "Asia/Tehran",
    270: "Asia/Kabul",
    330: "Asia/Kolkata",
    345: "Asia/Kathmandu",
    390: "Asia/Yangon",
    525: "Australia/Eucla",
    570: "Australia/Darwin",
    630: "Australia/Lord_Howe",  # +11:00 in summer
    765: "Pacific/Chatham",  # +13:45 in summer
}

# Countries with several zones: the one most of their people live in (or the capital's).
# The rest take the first zone tzdata's zone.tab lists for them.
_COUNTRY_ZONE = {
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "UZ": "Asia/Tashkent",
    "US": "America/New_York",
}

# Used only if the installed tzdata lacks zone.tab / iso3166.tab: common countries by hand.
_FALLBACK_COUNTRIES = {
    "GB": ("United Kingdom", "Europe/London"),
    "IE": ("Ireland", "Europe/Dublin"),
    "FR": ("France", "Europe/Paris"),
    "DE": ("Germany", "Europe/Berlin"),
    "ES": ("Spain", "Europe/Madrid"),
    "PT": ("Portugal", "Europe/Lisbon"),
    "IT": ("Italy", "Europe/Rome"),
    "NL": ("Netherlands", "Europe/Amsterdam"),
    "BE": ("Belgium", "Europe/Brussels"),
    "CH": ("Switzerland", "Europe/Zurich"),
    "AT": ("Austria", "Europe/Vienna"),
    "PL": ("Poland", "Europe/Warsaw"),
    "SE": ("Sweden", "Europe/Stockholm"),
    "NO": ("Norway", "Europe/Oslo"),
    "DK": ("Denmark", "Europe/Copenhagen"),
    "FI": ("Finland", "Europe/Helsinki"),
    "GR": ("Greece", "Europe/Athens"),
    "TR": ("Turkey", "Europe/Istanbul"),
    "UA": ("Ukraine", "Europe/Kyiv"),
    "RU": ("Russia", "Europe/Moscow"),
    "US": ("United States", "America/New_York"),
    "CA": ("Canada", "America/Toronto"),
    "MX": ("Mexico", "America/Mexico_City"),
    "BR": ("Brazil", "America/Sao_Paulo"),
    "AR": ("Argentina", "America/Argentina/Buenos_Aires"),
    "IN": ("India", "Asia/Kolkata"),
    "CN": ("China", "Asia/Shanghai"),
    "JP": ("Japan", "Asia/Tokyo"),
    "KR": ("Korea (South)", "Asia/Seoul"),
    "SG": ("Singapore", "Asia/Singapore"),
    "AE": ("United Arab Emirates", "Asia/Dubai"),
    "IL": ("Israel", "Asia/Jerusalem"),
    "ZA": ("South Africa", "Africa/Johannesburg"),
    "NG": ("Nigeria", "Africa/Lagos"),
    "EG": ("Egypt", "Africa/Cairo"),
    "AU": ("Australia", "Australia/Sydney"),
    "NZ": ("New Zealand", "Pacific/Auckland"),
}

# Everyday names for countries that iso3166.tab spells otherwise.
_COUNTRY_ALIASES = {
    "uk": "GB",
    "us": "US",
    "korea": "KR",
    "united kingdom": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "czechia": "CZ",
    "ivory coast": "CI",
    "uae": "AE",
    "emirates": "AE",
    "turkiye": "TR",
    "burma": "MM",
    "south korea": "KR",
    "north korea": "KP",
    "russian federation": "RU",
    "swaziland": "SZ",
}

# Big cities that are not the last part of a zone name.
_CITY_ALIASES = {
    "nyc": "America/New_York",
    "new york city": "America/New_York",
    "washington": "America/New_York",
    "washington dc": "America/New_York",
    "boston": "America/New_York",
    "miami": "America/New_York",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "montreal": "America/Toronto",
    "manchester": "Europe/London",
    "birmingham": "Europe/London",
    "edinburgh": "Europe/London",
    "glasgow": "Europe/London",
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "barcelona": "Europe/Madrid",
    "milan": "Europe/Rome",
    "st petersburg": "Europe/Moscow",
    "saint petersburg": "Europe/Moscow",
    "mumbai": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "beijing": "Asia/Shanghai",
    "osaka": "Asia/Tokyo",
}

# Two-letter ISO codes that are also English words: a country only when typed in capitals.
_WORD_CODES = frozenset(
    {"am", "as", "at", "be", "by", "do", "hi", "in", "is", "it", "me", "my", "no", "so", "to"}
)

_OFFSET = re.compile(
    r"^(?:(?:utc|gmt|z)\s*)?(?P<sign>[+\-−–])\s*(?P<hours>\d{1,2})"
    r"(?:(?:[:.h]\s*)?(?P<minutes>\d{2}))?$"
)
_UTC_WORDS = frozenset({"utc", "z", "zulu", "utc+0", "utc-0", "gmt+0", "gmt-0"})


@dataclass(frozen=True)
class Resolved:
    """A zone `ZoneInfo` opens, and what the text was taken as: offset, abbreviation, zone,
    country or city."""

    zone: str
    kind: str


def resolve(text: str) -> Resolved | None:
    """The zone a client meant by what they typed, or None (see the module's docstring)."""
    raw = text.strip()
    if not raw or len(raw) > MAX_TYPED:
        return None
    key = _normal(raw)
    compact = re.sub(r"\s+", "", raw.casefold())
    if compact in _UTC_WORDS:
        return Resolved("Etc/UTC", "offset")
    if (zone := _offset_zone(compact)) is not None:
        return Resolved(zone, "offset")
    if (zone := ABBREVIATIONS.get(raw.upper())) is not None:
        return Resolved(zone, "abbreviation")
    if (zone := _tables().names.get(re.sub(r" ?/ ?", "/", key))) is not None:
        return Resolved(zone, "zone")
    if (zone := _country(raw, key)) is not None:
        return Resolved(zone, "country")
    if (zone := _CITY_ALIASES.get(key) or _tables().cities.get(key)) is not None:
        return Resolved(zone, "city")
    if (zone := _tables().legacy.get(key)) is not None:  # "Hongkong", "Navajo"
        return Resolved(zone, "zone")
    return None


def zone_label(zone: str) -> str:
    """How a zone is shown to a client: "UTC+3" for Etc/GMT-3, "UTC" for Etc/UTC, else its
    name."""
    if zone in ("Etc/UTC", "Etc/GMT", "UTC"):
        return "UTC"
    match = re.fullmatch(r"Etc/GMT([+-])(\d{1,2})", zone)
    if match:
        return f"UTC{'-' if match[1] == '+' else '+'}{match[2]}"
    return zone


def _offset_zone(compact: str) -> str | None:
    match = _OFFSET.match(compact)
    if match is None:
        return None
    hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
    if minutes >= 60:
        return None
    sign = -1 if match["sign"] in "-−–" else 1
    total = sign * (hours * 60 + minutes)
    if minutes:
        return _ODD_OFFSETS.get(total)
    if not -12 <= sign * hours <= 14:
        return None
    if hours == 0:
        return "Etc/UTC"
    return f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"  # POSIX: the sign is inverted


def _country(raw: str, key: str) -> str | None:
    tables = _tables()
    code = _COUNTRY_ALIASES.get(key) or tables.country_names.get(key.removeprefix("the "))
    if (
        code is None
        and len(key) == 2
        and key.isalpha()
        and (key not in _WORD_CODES or raw == raw.upper())
    ):
        code = key.upper()
    return tables.country_zones.get(code) if code else None


def _normal(text: str) -> str:
    """Lower case, no accents, and spaces for underscores, hyphens, dots and apostrophes."""
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).casefold()
    plain = re.sub(r"['’]", "", plain)
    plain = re.sub(r"[_\-.,()]+", " ", plain)
    return re.sub(r"\s+", " ", plain.replace("&", " and ")).strip()


@dataclass(frozen=True)
class _Tables:
    names: dict[str, str]  # normalised full zone name ("europe/sao paulo") -> zone
    legacy: dict[str, str]  # names without a region ("Japan", "GB"): last resort
    cities: dict[str, str]  # normalised last part -> zone
    country_names: dict[str, str]  # normalised country name -> ISO code
    country_zones: dict[str, str]  # ISO code -> zone


@cache
def _tables() -> _Tables:
    zones = sorted(available_timezones())
    tab_zones, country_names = _tzdata_tables()
    names = {_normal(zone): zone for zone in zones if "/" in zone}
    legacy = {
        _normal(zone): zone
        for zone in zones
        if "/" not in zone and zone not in ("Factory", "localtime", "posixrules")
    }
    cities: dict[str, str] = {}
    listed = {zone for zone_list in tab_zones.values() for zone in zone_list}
    by_preference = sorted(
        (z for z in zones if "/" in z and not z.startswith(("Etc/", "SystemV/"))),
        key=lambda z: (z not in listed, len(z), z),
    )
    for zone in by_preference:
        cities.setdefault(_normal(zone.rsplit("/", 1)[1]), zone)
    country_zones = {
        code: _COUNTRY_ZONE.get(code, zone_list[0]) for code, zone_list in tab_zones.items()
    }
    country_zones = {code: z for code, z in country_zones.items() if z in set(zones)}
    return _Tables(names, legacy, cities, country_names, country_zones)


def _tzdata_tables() -> tuple[dict[str, list[str]], dict[str, str]]:
    """Country code -> its zones (zone.tab order), and normalised country name -> code, from
    the tzdata package; the small table above if it does not ship them."""
    try:
        folder = resources.files("tzdata") / "zoneinfo"
        zone_tab = (folder / "zone.tab").read_text(encoding="utf-8")
        iso_tab = (folder / "iso3166.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return (
            {code: [zone] for code, (_, zone) in _FALLBACK_COUNTRIES.items()},
            {_normal(name): code for code, (name, _) in _FALLBACK_COUNTRIES.items()},
        )
    tab_zones: dict[str, list[str]] = {}
    for line in zone_tab.splitlines():
        if line and not line.startswith("#"):
            code, _, zone, *_ = line.split("\t")
            tab_zones.setdefault(code, []).append(zone)
    names: dict[str, str] = {}
    for line in iso_tab.splitlines():
        if line and not line.startswith("#"):
            code, name = line.split("\t", 1)
            names[_normal(name)] = code
            base, _, extra = name.partition(" (")
            if extra:  # "Korea (South)": "korea south", "south korea", "korea"; "Britain (UK)"
                extra = extra.rstrip(")")
                names.setdefault(_normal(f"{extra} {base}"), code)
                names.setdefault(_normal(base), code)
    return tab_zones, names
