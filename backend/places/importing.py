"""Reading defibrillators from OpenStreetMap (GeoJSON, or Overpass's JSON) and from a CSV with The
Circuit's kind of columns, and writing them in place (docs/defibrillators.md).

Reading and writing are apart: a reader turns a file into rows (`Row`) and refusals (`Refusal`,
each naming its row, feature or OSM id and why), knowing nothing of the database; `apply_import`
writes the good rows in one transaction. A bad row is refused and the good ones still load: one
mistyped point must not keep a county's defibrillators from the crews. A file that cannot be read
at all (not JSON, no id column...) is a `FileRefused` and changes nothing.
"""

import csv
import datetime
import io
import json
import math
import re
from dataclasses import dataclass, field

from django.db import transaction

from backend.places.models import Access, Defibrillator, Source

# The columns an import writes, compared to tell "updated" from "unchanged".
FIELDS = (
    *("latitude", "longitude", "name", "access", "location"),
    *("level", "indoor", "opening_hours", "operator", "phone"),
)
MAX_LENGTHS = {
    name: Defibrillator._meta.get_field(name).max_length
    for name in ("name", "location", "level", "opening_hours", "operator", "phone")
}
SOURCE_ID_MAX = Defibrillator._meta.get_field("source_id").max_length

# OpenStreetMap's access values, and the words The Circuit's kind of export uses, onto ours. Anything
# else is "unknown", which the crews see as "Access unknown: may not be public".
ACCESS_WORDS = {
    "yes": Access.YES,
    "public": Access.YES,
    "true": Access.YES,
    "y": Access.YES,
    "24/7 public": Access.YES,
    "publicly accessible": Access.YES,
    "permissive": Access.PERMISSIVE,
    "customers": Access.CUSTOMERS,
    "restricted": Access.CUSTOMERS,
    "private": Access.PRIVATE,
    "no": Access.NO,
    "false": Access.NO,
    "n": Access.NO,
}
INDOOR_WORDS = {
    "yes": True,
    "true": True,
    "indoor": True,
    "indoors": True,
    "inside": True,
    "no": False,
    "false": False,
    "outdoor": False,
    "outdoors": False,
    "outside": False,
}


class FileRefused(Exception):
    """The whole file cannot be read as the format named: nothing is imported."""


@dataclass(frozen=True)
class Row:
    where: str  # "feature 3 (node/123)", "element 7 (way/42)", "row 12"
    source_id: str
    values: dict


@dataclass(frozen=True)
class Refusal:
    where: str
    reason: str
    source_id: str = ""  # when known: a refused point is not "removed from the source"


@dataclass
class ImportResult:
    source: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # marked removed_from_source_at (missing from this full import)
    refusals: list = field(default_factory=list)
    missing_not_marked: bool = False  # --keep-missing, or nothing valid to compare with

    def counts(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed_from_source": self.removed,
            "refused": len(self.refusals),
        }


class RowError(ValueError):
    """One row's reason for refusal."""


# --- Values common to every format ------------------------------------------------------------------


def _coordinate(value, name: str, limit: float) -> float:
    if isinstance(value, bool) or value is None or value == "":
        raise RowError(f"no {name}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RowError(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise RowError(f"{name} {value!r} is outside -{limit:g} to {limit:g}")
    return number


def _text(tags: dict, name: str, *keys: str) -> str:
    for key in keys:
        value = tags.get(key)
        if value not in (None, ""):
            text = " ".join(str(value).split())
            if len(text) > MAX_LENGTHS[name]:
                raise RowError(f"{name} is longer than {MAX_LENGTHS[name]} characters")
            return text
    return ""


def _access(value) -> str:
    return ACCESS_WORDS.get(" ".join(str(value or "").lower().split()), Access.UNKNOWN).value


def _indoor(value) -> bool | None:
    return INDOOR_WORDS.get(str(value or "").strip().lower())


def _source_id(value) -> str:
    text = str(value or "").strip()
    if not text:
        raise RowError("no id")
    if len(text) > SOURCE_ID_MAX:
        raise RowError(f"the id is longer than {SOURCE_ID_MAX} characters")
    return text


def _osm_values(tags: dict, latitude, longitude) -> dict:
    """A defibrillator's columns from OpenStreetMap's tags (wiki: Tag:emergency=defibrillator)."""
    if tags.get("emergency") != "defibrillator":
        raise RowError("not tagged emergency=defibrillator")
    return {
        "latitude": _coordinate(latitude, "latitude", 90),
        "longitude": _coordinate(longitude, "longitude", 180),
        "name": _text(tags, "name", "name"),
        "access": _access(tags.get("access")),
        "location": _text(tags, "location", "defibrillator:location", "defibrillator:location:en", "description"),
        "level": _text(tags, "level", "level"),
        "indoor": _indoor(tags.get("indoor")),
        "opening_hours": _text(tags, "opening_hours", "opening_hours"),
        "operator": _text(tags, "operator", "operator"),
        "phone": _text(tags, "phone", "phone", "contact:phone", "emergency:phone"),
    }


class _Seen:
    """Refuses a second row with an id already read from the same file."""

    def __init__(self):
        self._where = {}

    def check(self, source_id: str, where: str) -> None:
        if source_id in self._where:
            raise RowError(f"the same id as {self._where[source_id]}")
        self._where[source_id] = where


def _load_json(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise FileRefused(f"not JSON: {error}") from None


# --- OpenStreetMap as GeoJSON (overpass turbo's export, osmtogeojson) ------------------------------


def _centre(geometry) -> tuple[float, float]:
    """(longitude, latitude) of a point, or the mean of a way's or area's outer ring."""
    if not isinstance(geometry, dict):
        raise RowError("no geometry")
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    try:
        if kind == "Point":
            return coordinates[0], coordinates[1]
        if kind == "LineString":
            ring = coordinates
        elif kind == "Polygon":
            ring = coordinates[0][:-1] or coordinates[0]
        elif kind == "MultiPolygon":
            ring = coordinates[0][0][:-1] or coordinates[0][0]
        else:
            raise RowError(f"a {kind} geometry has no position")
        points = [(float(point[0]), float(point[1])) for point in ring]
    except (TypeError, IndexError, KeyError, ValueError):
        raise RowError(f"the {kind} geometry's coordinates cannot be read") from None
    if not points:
        raise RowError("the geometry has no coordinates")
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def _feature_id(feature: dict, properties: dict) -> str:
    for candidate in (properties.get("@id"), feature.get("id")):
        if candidate not in (None, ""):
            return _source_id(candidate)
    if properties.get("type") and properties.get("id") is not None:  # osmtogeojson's older shape
        return _source_id(f"{properties['type']}/{properties['id']}")
    raise RowError("no id (a feature's 'id' or its '@id' property)")


def read_osm_geojson(text: str) -> tuple[list[Row], list[Refusal]]:
    document = _load_json(text)
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise FileRefused("not a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise FileRefused("the FeatureCollection has no list of features")
    rows, refusals, seen = [], [], _Seen()
    for index, feature in enumerate(features, start=1):
        where, source_id = f"feature {index}", ""
        try:
            if not isinstance(feature, dict):
                raise RowError("not a GeoJSON feature")
            properties = feature.get("properties") or {}
            if not isinstance(properties, dict):
                raise RowError("its properties are not an object")
            source_id = _feature_id(feature, properties)
            where = f"feature {index} ({source_id})"
            tags = properties["tags"] if isinstance(properties.get("tags"), dict) else properties
            longitude, latitude = _centre(feature.get("geometry"))
            values = _osm_values(tags, latitude, longitude)
            seen.check(source_id, where)
            rows.append(Row(where, source_id, values))
        except RowError as error:
            refusals.append(Refusal(where, str(error), source_id))
    return rows, refusals


# --- OpenStreetMap as Overpass's JSON (`[out:json]; nwr[emergency=defibrillator]; out center;`) -----


def read_osm_json(text: str) -> tuple[list[Row], list[Refusal]]:
    document = _load_json(text)
    if not isinstance(document, dict) or not isinstance(document.get("elements"), list):
        raise FileRefused("not OSM JSON: no list of 'elements' (Overpass's [out:json])")
    rows, refusals, seen = [], [], _Seen()
    for index, element in enumerate(document["elements"], start=1):
        where, source_id = f"element {index}", ""
        try:
            if not isinstance(element, dict):
                raise RowError("not an OSM element")
            kind, number = element.get("type"), element.get("id")
            if kind not in ("node", "way", "relation") or number in (None, ""):
                raise RowError("no type (node, way, relation) and id")
            source_id = _source_id(f"{kind}/{number}")
            where = f"element {index} ({source_id})"
            position = element if kind == "node" else element.get("center")
            if not isinstance(position, dict):
                raise RowError(f"a {kind} without its centre (ask Overpass for 'out center;')")
            tags = element.get("tags")
            if not isinstance(tags, dict):
                raise RowError("no tags")
            values = _osm_values(tags, position.get("lat"), position.get("lon"))
            seen.check(source_id, where)
            rows.append(Row(where, source_id, values))
        except RowError as error:
            refusals.append(Refusal(where, str(error), source_id))
    return rows, refusals


# --- A CSV with The Circuit's kind of columns --------------------------------------------------------

# Our column -> the headers accepted for it (compared lower-case, spaces and punctuation folded).
CIRCUIT_COLUMNS = {
    "id": ("id", "defib id", "defibrillator id", "circuit id", "guid", "uuid", "ref gb the circuit"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
    "name": ("site name", "name", "location name", "site"),
    "location": ("location description", "defib location", "exact location", "location", "description"),
    "access": ("access", "accessibility", "public access", "access type"),
    "opening_hours": ("opening hours", "opening_hours", "availability", "available hours"),
    "level": ("level", "floor"),
    "indoor": ("indoor", "indoors", "inside or outside", "internal external", "location type"),
    "operator": ("operator", "owner", "organisation", "organization", "owner organisation"),
    "phone": ("phone", "telephone", "site phone", "contact phone"),
}
REQUIRED_COLUMNS = ("id", "latitude", "longitude")


def _header_key(header: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", header.lower()).split())


def _circuit_columns(headers: list[str]) -> dict[str, str]:
    """Our column -> the file's header that holds it; FileRefused when a required one is missing."""
    by_key = {_header_key(header): header for header in headers}
    found = {}
    for column, accepted in CIRCUIT_COLUMNS.items():
        for alias in accepted:
            if _header_key(alias) in by_key:
                found[column] = by_key[_header_key(alias)]
                break
    missing = [column for column in REQUIRED_COLUMNS if column not in found]
    if missing:
        names = "; ".join(f"{column}: one of {', '.join(CIRCUIT_COLUMNS[column])}" for column in missing)
        raise FileRefused(f"no column for {names}")
    return found


def read_circuit_csv(text: str) -> tuple[list[Row], list[Refusal]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    if not reader.fieldnames:
        raise FileRefused("the CSV has no header row")
    columns = _circuit_columns(reader.fieldnames)
    rows, refusals, seen = [], [], _Seen()
    line = 1  # the header; rows are numbered as a spreadsheet shows them
    try:
        for record in reader:
            line += 1
            where, source_id = f"row {line}", ""
            try:
                if None in record:
                    raise RowError("more cells than the header has columns")
                cells = {column: (record.get(header) or "").strip() for column, header in columns.items()}
                source_id = _source_id(cells["id"])
                where = f"row {line} ({source_id})"
                values = {
                    "latitude": _coordinate(cells["latitude"], "latitude", 90),
                    "longitude": _coordinate(cells["longitude"], "longitude", 180),
                    "name": _text(cells, "name", "name"),
                    "access": _access(cells.get("access")),
                    "location": _text(cells, "location", "location"),
                    "level": _text(cells, "level", "level"),
                    "indoor": _indoor(cells.get("indoor")),
                    "opening_hours": _text(cells, "opening_hours", "opening_hours"),
                    "operator": _text(cells, "operator", "operator"),
                    "phone": _text(cells, "phone", "phone"),
                }
                seen.check(source_id, where)
                rows.append(Row(where, source_id, values))
            except RowError as error:
                refusals.append(Refusal(where, str(error), source_id))
    except csv.Error as error:
        raise FileRefused(f"the CSV cannot be read after row {line}: {error}") from None
    return rows, refusals


FORMATS = {
    "osm-geojson": (Source.OSM, read_osm_geojson),
    "osm-json": (Source.OSM, read_osm_json),
    "circuit-csv": (Source.CIRCUIT, read_circuit_csv),
}


def guess_format(file_name: str, text: str) -> str:
    """From the file's name, or for .json from its content."""
    lowered = file_name.lower()
    if lowered.endswith(".csv"):
        return "circuit-csv"
    if lowered.endswith(".geojson"):
        return "osm-geojson"
    return "osm-json" if '"elements"' in text[:4096] else "osm-geojson"


# --- Writing ------------------------------------------------------------------------------------------


def apply_import(
    *,
    source: str,
    rows: list[Row],
    refusals: list[Refusal],
    now: datetime.datetime,
    mark_missing: bool = True,
    dry_run: bool = False,
) -> ImportResult:
    """Create, update in place, and mark as removed from the source those of `source` the file no
    longer has (not those refused: a typo is not a removal). One transaction; rolled back for a
    dry run, which reports the same counts."""
    result = ImportResult(source=source, read=len(rows) + len(refusals), refusals=list(refusals))
    with transaction.atomic():
        existing = {point.source_id: point for point in Defibrillator.objects.select_for_update().filter(source=source)}
        to_create, to_update = [], []
        for row in rows:
            point = existing.get(row.source_id)
            if point is None:
                to_create.append(Defibrillator(source=source, source_id=row.source_id, imported_at=now, **row.values))
            elif _changed(point, row.values):
                for name, value in row.values.items():
                    setattr(point, name, value)
                point.removed_from_source_at = None
                point.imported_at = now
                to_update.append(point)
            else:
                result.unchanged += 1
        Defibrillator.objects.bulk_create(to_create, batch_size=2000)
        written = [*FIELDS, "removed_from_source_at", "imported_at"]
        Defibrillator.objects.bulk_update(to_update, written, batch_size=2000)
        result.created, result.updated = len(to_create), len(to_update)
        # With nothing valid read, "missing" would be everything: never mark a source empty.
        if mark_missing and rows:
            kept = {row.source_id for row in rows} | {refusal.source_id for refusal in refusals}
            missing = [
                point.pk
                for source_id, point in existing.items()
                if source_id not in kept and point.removed_from_source_at is None
            ]
            for start in range(0, len(missing), 2000):
                Defibrillator.objects.filter(pk__in=missing[start : start + 2000]).update(removed_from_source_at=now)
            result.removed = len(missing)
        else:
            result.missing_not_marked = True
        if dry_run:
            transaction.set_rollback(True)
    return result


def _changed(point: Defibrillator, values: dict) -> bool:
    if point.removed_from_source_at is not None:
        return True
    return any(getattr(point, name) != value for name, value in values.items())
