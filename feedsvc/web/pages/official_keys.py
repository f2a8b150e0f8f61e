"""`/ags/<key>` and `/ags/<key>/feed.<fmt>`: a city's or region's page and feeds by its
official key, for aggregators that know municipalities by key only (docs/feeds.md#feeds-by-official-key).

A key of 8 digits is a Gemeinde's Amtlicher Gemeindeschlüssel, one of 2, 3 or 5 digits a
Land, Regierungsbezirk or Kreis (`feedsvc import-municipalities` gives regions theirs).
The answer is a 301 to the one URL of the page or feed, cached like the canonical
redirects and purged with the catalog; an unknown or malformed key is a German 404 that
says which keys there are.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response

from feedsvc import db, paths
from feedsvc.store import catalog
from feedsvc.store.keys import CATALOG_KEY
from feedsvc.store.region_tree import CITY_KEY_LENGTH, LEVEL_OF_KEY_LENGTH, Level
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.redirects import moved_to

blueprint = Blueprint("official_keys", __name__)

_NONE_OF_LEVEL = {
    Level.LAND: "kein Land",
    Level.REGIERUNGSBEZIRK: "keinen Regierungsbezirk",
    Level.KREIS: "keinen Kreis",
}
_SHOWN_LENGTH = 20  # of a malformed key, quoted back


@dataclass(frozen=True)
class Unknown:
    """Why a key leads nowhere, in German."""

    message: str


@blueprint.get(paths.official_key_path("<key>"))
@blueprint.get(paths.feed_path(paths.official_key_path("<key>"), "<fmt>"))
def by_official_key(key: str, fmt: str | None = None) -> Response:
    if fmt is not None and fmt not in paths.FEED_FORMATS:
        formats = ", ".join(f"feed.{each}" for each in paths.FEED_FORMATS)
        return _not_found(Unknown(f"Feeds gibt es als {formats}."))
    page = page_of_key(key)
    if isinstance(page, Unknown):
        return _not_found(page)
    return moved_to(page if fmt is None else paths.feed_path(page, fmt))


def page_of_key(key: str) -> str | Unknown:
    """The page path of the city or region `key` names."""
    if not (key.isascii() and key.isdigit()) or (
        len(key) != CITY_KEY_LENGTH and len(key) not in LEVEL_OF_KEY_LENGTH
    ):
        shown = key if len(key) <= _SHOWN_LENGTH else key[:_SHOWN_LENGTH] + "…"
        return Unknown(
            f"„{shown}“ ist kein amtlicher Schlüssel. Er hat 8 Ziffern für eine Gemeinde "
            "(etwa 09187117), 5 für einen Kreis, 3 für einen Regierungsbezirk oder 2 für ein Land."
        )
    session = db.session()
    if len(key) == CITY_KEY_LENGTH:
        city = catalog.city_by_ags(session, key)
        if city is None:
            return Unknown(
                f"Zum Amtlichen Gemeindeschlüssel {key} gibt es hier keine Stadt und keine Gemeinde."
            )
        return paths.subject_path(city=city)
    region = catalog.region_by_ags(session, key)
    if region is None:
        return Unknown(
            f"Zum amtlichen Schlüssel {key} gibt es hier {_NONE_OF_LEVEL[LEVEL_OF_KEY_LENGTH[len(key)]]}."
        )
    return paths.subject_path(region=region)


def _not_found(unknown: Unknown) -> Response:
    # Tagged with the catalog: the import that adds the key purges the 404 at once.
    return error_response(404, message=unknown.message, subjects=[CATALOG_KEY])
