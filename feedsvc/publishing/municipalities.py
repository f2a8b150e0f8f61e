"""The official municipality directory: read it, then bring cities and regions in line with it
(`feedsvc import-municipalities`, docs/operations.md#importing-the-official-municipality-directory).

Two formats:

- **GV100AD**, the Gemeindeverzeichnis of the statistical offices (Destatis), fixed width,
  one record a line: UTF-8 since 2019, ISO-8859-1 before; the ZIP it is published in is
  read as it is. Länder, Regierungsbezirke, Kreise and Gemeinden are taken; Regionen
  (Baden-Württemberg) and Gemeindeverbände are checked and left out, because feeds follow
  the key, Land → Regierungsbezirk → Kreis → Gemeinde; so are gemeindefreie Gebiete.
- **CSV** with a header naming the columns `ags`, `name` and `type` (`land`,
  `regierungsbezirk`, `kreis`, `gemeinde`), separated by `;` or `,`; names are taken as
  they are written.

Every line is checked before anything is written, and every problem is reported with its
line (`ImportFailed`); the caller rolls back. A city is matched by its AGS, a region by its
key (2, 3 or 5 digits): an import again renames what was renamed and adds what is new. A
city or region of one's own with the slug the directory's would get, in the same Land and
without a key, is taken over (it gets the key) rather than doubled.

The parser is our own: the records are fixed slices of a line, and what matters here is
telling each broken line by its number, in the file's encoding, which the published
readers of the format leave to their callers.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from feedsvc.models import City, Region
from feedsvc.publishing.importing import ImportFailed
from feedsvc.store import directory
from feedsvc.store.region_tree import CITY_KEY_LENGTH, KEY_LENGTHS, Level
from feedsvc.text import plain_text, slugify_de

FORMATS = ("gv100", "csv")
# The whole GV100AD (every municipality of Germany) is about 4 MB: this is far past any.
MAX_FILE_BYTES = 64 * 1024 * 1024
NAME_LENGTH = 200  # `regions.name`, `cities.name`
SLUG_LENGTH = 90  # room for "-<key>" within `slug`'s 100
ZIP_MAGIC = b"PK\x03\x04"  # a ZIP's first local file header
LAND_KEYS = frozenset(f"{number:02d}" for number in range(1, 17))

# GV100AD record layout, after Destatis' "Datensatzbeschreibung GV100AD" (positions 1-based,
# both ends included; EF = Erhebungsmerkmal). Records are 220 characters, blank-padded.
#
#   EF1    1–2     Satzart: 10 Land, 20 Regierungsbezirk, 30 Region (Baden-Württemberg only),
#                  40 Kreis, 50 Gemeindeverband, 60 Gemeinde
#   EF2    3–10    Gebietsstand, JJJJMMTT
#   EF3    11–18   Amtlicher Gemeindeschlüssel, as far as the Satzart goes:
#                  11–12 Land, 13 Regierungsbezirk, 14–15 Kreis, 16–18 Gemeinde
#                  (Satzart 30: 11–14, the Region; Satzart 50: 11–15, the Kreis)
#   EF4    19–22   Gemeindeverband (Satzart 50 and 60)
#   EF5    23–72   Name ("Bad Aibling, St": the Gemeinde's designation after a comma)
#   EF6    73–122  Sitz der Verwaltung (Satzart 10 to 50)
#   EF7    123–124 Textkennzeichen: Kreis 41 kreisfreie Stadt, 42 Stadtkreis, 43 Kreis,
#                  44 Landkreis, 45 Regionalverband; Gemeindeverband 50–58; Gemeinde 60 Markt,
#                  61 kreisfreie Stadt, 62 Stadtkreis, 63 Stadt, 64 kreisangehörige Gemeinde,
#                  65 gemeindefreies Gebiet, bewohnt, 66 unbewohnt, 67 Große Kreisstadt
#   (Satzart 60 only) 129–139 Fläche in ha, 140–150 Bevölkerung, 151–161 männlich,
#                  166–170 Postleitzahl, 171–175 "*****" when it has more than one,
#                  178–181 Finanzamtbezirk, 182–185 Gerichtsbarkeit, 186–190 Arbeitsagenturbezirk,
#                  191–196 Bundestagswahlkreise: not read here.
#
# As 0-based slices: the key's digits of each Satzart, and what follows it up to the name.
_SATZART = slice(0, 2)
_GEBIETSSTAND = slice(2, 10)
_NAME = slice(22, 72)
_TEXTKENNZEICHEN = slice(122, 124)
_KEY_DIGITS = {"10": 2, "20": 3, "30": 4, "40": 5, "50": 5, "60": 8}
_VERBAND = slice(18, 22)  # Satzart 50 and 60
_LEVEL_OF_SATZART = {"10": Level.LAND, "20": Level.REGIERUNGSBEZIRK, "40": Level.KREIS}
_GEMEINDE = "60"
_UNPOPULATED = ("65", "66")  # gemeindefreie Gebiete: lakes, forests; no press office
# What a Kreis is called when its name does not say (Textkennzeichen of Satzart 40).
_KREIS_DESIGNATION = {"41": "Stadt", "42": "Stadtkreis", "43": "Kreis", "44": "Landkreis"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffd]")


@dataclass(frozen=True)
class Area:
    """One entry of the directory: a Land, Regierungsbezirk, Kreis (`level`) or Gemeinde
    (`level` None), its key and the name it is shown by."""

    line: int
    ags: str
    name: str
    level: Level | None

    @property
    def what(self) -> str:
        return f"{'Gemeinde' if self.level is None else _LEVEL_NAMES[self.level]} {self.ags} {self.name}"


_LEVEL_NAMES = {Level.LAND: "Land", Level.REGIERUNGSBEZIRK: "Regierungsbezirk", Level.KREIS: "Kreis"}


@dataclass(frozen=True)
class Directory:
    """A directory file as read: its entries, and how it was read."""

    areas: tuple[Area, ...]
    format: str
    encoding: str
    as_of: date | None = None  # the Gebietsstand of a GV100AD file
    left_out: int = 0  # Regionen, Gemeindeverbände, gemeindefreie Gebiete

    def count(self, level: Level | None) -> int:
        return sum(1 for area in self.areas if area.level == level)


@dataclass
class DirectoryReport:
    regions_created: int = 0
    regions_updated: int = 0
    regions_unchanged: int = 0
    cities_created: int = 0
    cities_updated: int = 0
    cities_unchanged: int = 0
    # (city slug, region left, region joined) of each city the directory placed elsewhere.
    moved: list[tuple[str, str, str]] = field(default_factory=list)
    # (slug, key) of each city or region of one's own that got its official key.
    adopted: list[tuple[str, str]] = field(default_factory=list)
    # The subjects whose feeds show an entry that was renamed.
    touched: set[str] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return bool(
            self.regions_created or self.regions_updated or self.cities_created or self.cities_updated
        )


# --- reading -----------------------------------------------------------------------------------


def read_directory(data: bytes, file_name: str, fmt: str | None = None) -> Directory:
    """The entries of a directory file in `fmt` ("gv100", "csv"; None: told by its content),
    or ImportFailed naming every broken line."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportFailed([f"{file_name}: {len(data)} bytes, more than a directory has ({MAX_FILE_BYTES})"])
    if data.startswith(ZIP_MAGIC):
        file_name, data = _member_of_zip(data, file_name, fmt)
    text, encoding = _decode(data)
    head = text.lstrip()[:512].lower()
    if head.startswith("<") and ("<html" in head or "<!doctype" in head or "<head" in head):
        raise ImportFailed(
            [
                f"{file_name}: an HTML page, not a directory file: "
                "download the file itself (the ZIP or the .txt in it)"
            ]
        )
    if "\x00" in text:
        raise ImportFailed([f"{file_name}: not a text file"])
    chosen = fmt or _format_of(text)
    if chosen is None:
        raise ImportFailed(
            [
                f"{file_name}: neither a GV100AD file nor a CSV with a header: "
                "name its format with --format gv100 or --format csv"
            ]
        )
    if chosen == "gv100":
        return _read_gv100(text, encoding)
    return _read_csv(text, encoding)


def _member_of_zip(data: bytes, file_name: str, fmt: str | None) -> tuple[str, bytes]:
    """The one directory file in a ZIP (Destatis publishes GV100AD_DDMMYY.txt with a PDF)."""
    endings = {"gv100": (".txt", ".asc"), "csv": (".csv",)}.get(fmt or "", (".txt", ".asc", ".csv"))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [info for info in archive.infolist() if info.filename.lower().endswith(endings)]
            if len(members) != 1:
                names = ", ".join(info.filename for info in archive.infolist()) or "nothing"
                raise ImportFailed([f"{file_name}: a ZIP with one directory file expected, it holds {names}"])
            if members[0].file_size > MAX_FILE_BYTES:
                raise ImportFailed([f"{file_name}: {members[0].filename} is larger than a directory is"])
            return f"{file_name}:{members[0].filename}", archive.read(members[0])
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ImportFailed([f"{file_name}: a broken ZIP ({error})"]) from None


def _decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) where it is, else ISO-8859-1, which GV100AD files used
    before 2019: every byte is a character there, so a file in yet another encoding shows
    as names with control characters (`_clean_name`), reported by line."""
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        return data.decode("iso-8859-1"), "ISO-8859-1"


def _format_of(text: str) -> str | None:
    first = next((line for line in text.splitlines() if line.strip()), "")
    if re.match(r"[1-6]0\d{8}", first):
        return "gv100"
    if "ags" in [cell.strip().lower() for cell in re.split(r"[;,\t]", first)]:
        return "csv"
    return None


def _clean_name(raw: str, line: int, problems: list[str]) -> str:
    """The name as stored, or "" with a problem for `line`."""
    if found := _CONTROL.search(raw):
        problems.append(
            f"line {line}: the name has U+{ord(found.group()):04X}, which no name has "
            "(is the file in another encoding?)"
        )
        return ""
    name = plain_text(unicodedata.normalize("NFC", raw))
    if not name:
        problems.append(f"line {line}: no name")
    elif len(name) > NAME_LENGTH:
        problems.append(f"line {line}: the name is longer than {NAME_LENGTH} characters")
        return ""
    return name


def _read_gv100(text: str, encoding: str) -> Directory:
    areas: list[Area] = []
    problems: list[str] = []
    first_line: dict[tuple[str, str], int] = {}
    stands: set[date] = set()
    left_out = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        record = raw.rstrip("\r\n")
        if not record.strip():
            continue
        parsed = _gv100_record(record, number, problems)
        if parsed is None:
            continue
        satzart, key, stand, kennzeichen, name = parsed
        stands.add(stand)
        seen = first_line.setdefault((satzart, key), number)
        if seen != number:
            problems.append(f"line {number}: Satzart {satzart} key {key.strip()} is on line {seen} already")
            continue
        if satzart not in _LEVEL_OF_SATZART and satzart != _GEMEINDE:
            left_out += 1  # Regionen, Gemeindeverbände: not levels of the key
            continue
        if satzart == _GEMEINDE and kennzeichen in _UNPOPULATED:
            left_out += 1
            continue
        level = _LEVEL_OF_SATZART.get(satzart)
        areas.append(Area(number, key, _shown_name(name, level, kennzeichen), level))
    if problems:
        raise ImportFailed(problems)
    if not areas:
        raise ImportFailed(["no Land, Regierungsbezirk, Kreis or Gemeinde in the file"])
    return Directory(tuple(areas), "GV100AD", encoding, max(stands) if stands else None, left_out)


def _gv100_record(record: str, line: int, problems: list[str]) -> tuple[str, str, date, str, str] | None:
    """(Satzart, key, Gebietsstand, Textkennzeichen, raw name) of a line, or None with its problems."""
    satzart = record[_SATZART]
    digits = _KEY_DIGITS.get(satzart)
    if digits is None:
        problems.append(f"line {line}: Satzart {satzart!r} is none of GV100AD's (10, 20, 30, 40, 50, 60)")
        return None
    if len(record) < _NAME.start + 1:
        problems.append(f"line {line}: {len(record)} characters, too short for a record with a name")
        return None
    found: list[str] = []
    stand_text = record[_GEBIETSSTAND]
    stand = None
    if stand_text.isascii() and stand_text.isdigit():
        with contextlib.suppress(ValueError):  # "20241331": digits, no date
            stand = date(int(stand_text[:4]), int(stand_text[4:6]), int(stand_text[6:]))
    if stand is None:
        found.append(f"line {line}: Gebietsstand {stand_text!r} (positions 3–10) is no date JJJJMMTT")
    key = record[10 : 10 + digits]
    rest = record[10 + digits : 22]
    if not (key.isascii() and key.isdigit()):
        found.append(f"line {line}: the key {key!r} (positions 11–{10 + digits}) is not {digits} digits")
    elif key[:2] not in LAND_KEYS:
        found.append(f"line {line}: Land {key[:2]} does not exist (01 to 16)")
    if satzart in ("50", "60"):
        filler, verband = record[10 + digits : 18], record[_VERBAND]
        if filler.strip() or not (verband.isascii() and verband.isdigit()):
            found.append(
                f"line {line}: positions {11 + digits}–22 are not blank and a Gemeindeverband of 4 digits"
            )
        if satzart == "50":
            key = f"{key}{verband}"  # a Gemeindeverband is named by its Kreis and its number
    elif rest.strip():
        found.append(f"line {line}: positions {11 + digits}–22 must be blank for Satzart {satzart}")
    kennzeichen = record[_TEXTKENNZEICHEN].strip()
    if kennzeichen and not (kennzeichen.isascii() and kennzeichen.isdigit()):
        found.append(f"line {line}: Textkennzeichen {kennzeichen!r} (positions 123–124) is not 2 digits")
    name = _clean_name(record[_NAME], line, found)
    problems.extend(found)
    if found or stand is None:
        return None
    return satzart, key, stand, kennzeichen, name


def _shown_name(name: str, level: Level | None, kennzeichen: str) -> str:
    """The name people use. A Gemeinde's designation goes ("Bad Aibling, St" is Bad Aibling);
    a Kreis says what it is ("Heidelberg, Stadtkreis" → "Stadtkreis Heidelberg", Landkreis
    "Rosenheim" → "Landkreis Rosenheim"); "Reg.-Bez. Köln" is "Regierungsbezirk Köln"."""
    base, comma, designation = name.rpartition(", ")
    if level is None:
        return base if comma else name
    if level is Level.REGIERUNGSBEZIRK and name.startswith("Reg.-Bez. "):
        return "Regierungsbezirk " + name.removeprefix("Reg.-Bez. ")
    if level is not Level.KREIS:
        return name
    if comma:
        return f"{designation} {base}"
    prefix = _KREIS_DESIGNATION.get(kennzeichen)
    if prefix is None or "kreis" in name.lower() or name.lower().startswith(("stadt ", "region")):
        return name
    return f"{prefix} {name}"


_CSV_LEVELS: dict[str, Level | None] = {
    "land": Level.LAND,
    "regierungsbezirk": Level.REGIERUNGSBEZIRK,
    "kreis": Level.KREIS,
    "gemeinde": None,
}


def _read_csv(text: str, encoding: str) -> Directory:
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(";,\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems: list[str] = []
    columns: dict[str, int] | None = None
    areas: list[Area] = []
    first_line: dict[str, int] = {}
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                header = [cell.strip().lower() for cell in row]
                missing = [name for name in ("ags", "name", "type") if name not in header]
                if missing:
                    raise ImportFailed([f"line {number}: the header has no column {', '.join(missing)}"])
                columns = {name: header.index(name) for name in ("ags", "name", "type")}
                continue
            area = _csv_area(row, columns, number, problems)
            if area is None:
                continue
            seen = first_line.setdefault(area.ags, number)
            if seen != number:
                problems.append(f"line {number}: AGS {area.ags} is on line {seen} already")
                continue
            areas.append(area)
    except csv.Error as error:
        problems.append(f"line {reader.line_num}: {error}")
    if columns is None:
        raise ImportFailed(["no header line (ags, name, type)"])
    if problems:
        raise ImportFailed(problems)
    if not areas:
        raise ImportFailed(["no municipality or region below the header"])
    return Directory(tuple(areas), "CSV", encoding)


def _csv_area(row: Sequence[str], columns: dict[str, int], line: int, problems: list[str]) -> Area | None:
    if len(row) <= max(columns.values()):
        problems.append(
            f"line {line}: {len(row)} columns, the header has {max(columns.values()) + 1} or more"
        )
        return None
    ags, kind = row[columns["ags"]].strip(), row[columns["type"]].strip().lower()
    found: list[str] = []
    if kind not in _CSV_LEVELS:
        found.append(f"line {line}: type {kind!r} is none of {', '.join(_CSV_LEVELS)}")
        level = None
    else:
        level = _CSV_LEVELS[kind]
        length = CITY_KEY_LENGTH if level is None else KEY_LENGTHS[level]
        if not (ags.isascii() and ags.isdigit() and len(ags) == length):
            found.append(f"line {line}: the AGS of a {kind} has {length} digits, not {ags!r}")
        elif ags[:2] not in LAND_KEYS:
            found.append(f"line {line}: Land {ags[:2]} does not exist (01 to 16)")
    name = _clean_name(row[columns["name"]], line, found)
    problems.extend(found)
    return None if found else Area(line, ags, name, level)


# --- choosing what to import -----------------------------------------------------------------


def only_states(session: Session, read: Directory, states: Sequence[str]) -> Directory:
    """The entries of the Länder named (by key, "09", or name, "Bayern"), or ImportFailed."""
    if not states:
        return read
    lands = {
        ags: region.name for ags, region in directory.regions_with_keys(session).items() if len(ags) == 2
    }
    lands |= {area.ags: area.name for area in read.areas if area.level is Level.LAND}
    names = {name.casefold(): ags for ags, name in lands.items()}
    keys: set[str] = set()
    problems: list[str] = []
    for state in states:
        wanted = state.strip()
        key = wanted if wanted in LAND_KEYS else names.get(wanted.casefold())
        if key is None:
            known = ", ".join(sorted(lands.values())) or "none"
            problems.append(f"--state {state}: no such Land in the file or the database (Länder: {known})")
        else:
            keys.add(key)
    if problems:
        raise ImportFailed(problems)
    chosen = tuple(area for area in read.areas if area.ags[:2] in keys)
    if not chosen:
        raise ImportFailed([f"nothing of {', '.join(states)} in the file"])
    return replace(read, areas=chosen)


# --- writing -------------------------------------------------------------------------------------


def import_directory(session: Session, read: Directory, now: datetime) -> DirectoryReport:
    """Brings regions and cities in line with the directory, in the caller's transaction
    (begun with `db.begin_writing`), or ImportFailed with every problem (roll back then)."""
    report = DirectoryReport()
    problems: list[str] = []
    keyed = directory.regions_with_keys(session)
    # What cities and regions are put in: the regions placed now, and those known not merged.
    regions = {ags: region for ags, region in keyed.items() if region.merged_into_id is None}
    lands = {area.ags: area.name for area in read.areas if area.level is Level.LAND}
    lands |= {ags: region.name for ags, region in regions.items() if len(ags) == 2 and ags not in lands}
    for level in (Level.LAND, Level.REGIERUNGSBEZIRK, Level.KREIS):
        for area in (each for each in read.areas if each.level is level):
            state = lands.get(area.ags[:2])
            parent = _parent_of(area, regions)
            if state is None or (level is not Level.LAND and parent is None):
                problems.append(
                    f"line {area.line}: {area.what}: its Land {area.ags[:2]} is neither in the file nor known"
                )
                continue
            placed = _place_region(session, area, state, parent, keyed.get(area.ags), now, report, problems)
            if placed is not None:
                regions[area.ags] = placed
    cities = directory.cities_with_keys(session)
    for area in (each for each in read.areas if each.level is None):
        kreis = regions.get(area.ags[: KEY_LENGTHS[Level.KREIS]])
        state = lands.get(area.ags[:2])
        if kreis is None or state is None:
            problems.append(
                f"line {area.line}: {area.what}: its Kreis {area.ags[:5]} is neither in the file nor known"
            )
            continue
        _place_city(session, area, state, kreis, cities.get(area.ags), now, report, problems)
    if problems:
        raise ImportFailed(problems)
    if report.changed:
        directory.catalog_changed(session, now, report.touched)
    session.flush()
    return report


def _parent_of(area: Area, regions: dict[str, Region]) -> Region | None:
    """The region right above: a Kreis's Regierungsbezirk, or its Land where the Land has
    none (Schleswig-Holstein's Kreise are 010xx: no Regierungsbezirk 010)."""
    if area.level is Level.LAND:
        return None
    if area.level is Level.KREIS and (district := regions.get(area.ags[:3])) is not None:
        return district
    return regions.get(area.ags[:2])


def _place_region(
    session: Session,
    area: Area,
    state: str,
    parent: Region | None,
    existing: Region | None,
    now: datetime,
    report: DirectoryReport,
    problems: list[str],
) -> Region | None:
    assert area.level is not None
    if existing is not None and existing.merged_into_id is not None:
        problems.append(
            f"line {area.line}: {area.what}: the key belongs to region {existing.slug}, merged since"
        )
        return None
    region = existing
    if region is None:
        slug, region = _slug_for(session, area, state, directory.region_holding_slug)
        if slug is None:
            problems.append(f"line {area.line}: {area.what}: no free slug (tried {_candidates(area)})")
            return None
        if region is None:
            report.regions_created += 1
            return directory.new_region(
                session, slug=slug, name=area.name, state=state, ags=area.ags, level=area.level, parent=parent
            )
        report.adopted.append((region.slug, area.ags))
    changed = directory.set_region(
        session,
        region,
        name=area.name,
        state=state,
        ags=area.ags,
        level=area.level,
        parent=parent,
        now=now,
        touched=report.touched,
    )
    if changed:
        report.regions_updated += 1
    else:
        report.regions_unchanged += 1
    return region


def _place_city(
    session: Session,
    area: Area,
    state: str,
    kreis: Region,
    existing: City | None,
    now: datetime,
    report: DirectoryReport,
    problems: list[str],
) -> None:
    if existing is not None and existing.merged_into_id is not None:
        problems.append(
            f"line {area.line}: {area.what}: the AGS belongs to city {existing.slug}, merged since"
        )
        return
    city = existing
    if city is None:
        slug, city = _slug_for(session, area, state, directory.city_holding_slug)
        if slug is None:
            problems.append(f"line {area.line}: {area.what}: no free slug (tried {_candidates(area)})")
            return
        if city is None:
            directory.new_city(session, slug=slug, name=area.name, state=state, ags=area.ags, region=kreis)
            report.cities_created += 1
            return
        report.adopted.append((city.slug, area.ags))
    left = city.region
    if directory.set_city(
        session,
        city,
        name=area.name,
        state=state,
        ags=area.ags,
        region=kreis,
        now=now,
        touched=report.touched,
    ):
        report.cities_updated += 1
        if left.id != kreis.id:
            report.moved.append((city.slug, left.name, kreis.name))
    else:
        report.cities_unchanged += 1


def _candidates(area: Area) -> list[str]:
    slug = slugify_de(area.name, max_length=SLUG_LENGTH) or "gebiet"
    return [slug, f"{slug}-{area.ags}"]


Entry = TypeVar("Entry", Region, City)


def _slug_for(
    session: Session, area: Area, state: str, holder: Callable[[Session, str], Entry | None]
) -> tuple[str | None, Entry | None]:
    """The slug a new entry gets, or an entry of one's own to take over: the holder of the
    plain slug when it has no key, is in the same Land and is no official region. Else the
    slug with the key."""
    for slug in _candidates(area):
        held = holder(session, slug)
        if held is None:
            return slug, None
        own = held.ags is None and held.state == state and held.merged_into_id is None
        if own and (not isinstance(held, Region) or held.level is None):
            return held.slug, held
    return None, None


def summary(read: Directory, report: DirectoryReport) -> list[str]:
    """What an import did, for the operator: a few lines."""
    stand = f", Gebietsstand {read.as_of:%d.%m.%Y}" if read.as_of else ""
    counted = ", ".join(
        f"{read.count(level)} {one if read.count(level) == 1 else many}"
        for level, one, many in (
            (Level.LAND, "Land", "Länder"),
            (Level.REGIERUNGSBEZIRK, "Regierungsbezirk", "Regierungsbezirke"),
            (Level.KREIS, "Kreis", "Kreise"),
            (None, "Gemeinde", "Gemeinden"),
        )
    )
    lines = [
        f"{read.format}{stand}, read as {read.encoding}: {counted}"
        + (f" ({read.left_out} other records left out)" if read.left_out else ""),
        f"regions: {report.regions_created} created, {report.regions_updated} updated, "
        f"{report.regions_unchanged} unchanged",
        f"cities: {report.cities_created} created, {report.cities_updated} updated, "
        f"{report.cities_unchanged} unchanged",
    ]
    lines += [f"took over {slug} as {ags}" for slug, ags in report.adopted]
    lines += [f"moved {slug}: {left} → {joined}" for slug, left, joined in report.moved]
    return lines
