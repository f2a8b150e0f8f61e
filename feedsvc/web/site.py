"""The site's identity on the web (`feedsvc.identity`): the configured logo, icon and
colours served under /site/, the identity handed to every template, and the stylesheet
that shows feeds in a browser (/static/feed.xsl) in the site's name, logo and colours,
with its legal pages linked.

The files under /site/ carry the digest of their content in their name: they are cached
for a year (`immutable`), and a changed logo is a new URL, in pages and feeds alike.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Final

from flask import Blueprint, Flask, Response, abort, current_app, request
from lxml import etree

from feedsvc.config import site_identity
from feedsvc.identity import ASSET_PREFIX, Identity
from feedsvc.legal import LegalPage
from feedsvc.web.feeds.content import STYLESHEET_PATH
from feedsvc.web.pages.legal import present_pages
from feedsvc.web.pages.responses import public_document

blueprint = Blueprint("site", __name__)

IMMUTABLE: Final = "public, max-age=31536000, immutable"
XSLT_TYPE: Final = "application/xslt+xml"
_FILES: Final = "feedsvc.site_files"
_XSL: Final = "feedsvc.feed_xsl"
_XSL_NS: Final = {"xsl": "http://www.w3.org/1999/XSL/Transform"}

# name → (bytes, media type, ETag, Last-Modified)
ServedFile = tuple[bytes, str, str, datetime | None]


def identity() -> Identity:
    """The identity of the app serving this request."""
    return site_identity(current_app)


@blueprint.get(f"{ASSET_PREFIX}<name>")
def served_file(name: str) -> Response:
    files: dict[str, ServedFile] = current_app.extensions[_FILES]
    found = files.get(name)
    if found is None:
        abort(404)
    data, media_type, tag, modified = found
    response = Response(data, mimetype=media_type)
    response.headers["Cache-Control"] = IMMUTABLE
    response.set_etag(tag)
    if modified is not None:
        response.last_modified = modified
    response.make_conditional(request)
    return response


@blueprint.get(STYLESHEET_PATH)
def feed_stylesheet() -> Response:
    """The feeds' stylesheet, as shipped while it has nothing to change, else with the site's
    name, logo, icon, colours and the legal pages linked."""
    present = present_pages()
    key = (identity().fingerprint, tuple(page.slug for page in present))
    kept: tuple[object, bytes, str] | None = current_app.extensions.get(_XSL)
    if kept is None or kept[0] != key:
        data = _stylesheet(identity(), present)
        kept = (key, data, hashlib.blake2b(data, digest_size=12).hexdigest())
        current_app.extensions[_XSL] = kept
    data, tag = kept[1], kept[2]
    return public_document(lambda: data, mimetype=XSLT_TYPE, etag=tag)


def _shipped() -> Path:
    return Path(str(current_app.static_folder)) / "feed.xsl"


def _stylesheet(site: Identity, present: tuple[LegalPage, ...]) -> bytes:
    shipped = _shipped().read_bytes()
    if site == Identity() and not present:
        return shipped
    # The tree, not only its root: the comment that explains the file stays with it.
    tree = etree.fromstring(shipped).getroottree()
    document = tree.getroot()
    for variable in _elements(document, "//xsl:variable[@name='site']"):
        variable.text = site.name
    href, media_type = site.favicon()
    for icon in _elements(document, "//link[@rel='icon']"):
        icon.set("href", href)
        if media_type:
            icon.set("type", media_type)
        elif "type" in icon.attrib:
            del icon.attrib["type"]
    if (theme := site.theme_path) is not None:
        for sheet in _elements(document, "//link[@rel='stylesheet'][@href='/static/css/site.css']"):
            sheet.addnext(etree.Element("link", rel="stylesheet", href=theme))
    if site.logo is not None:
        for mark in _elements(document, "//span[@class='brand__mark']"):
            logo = etree.Element("img", {"class": "brand__logo", "src": site.logo_path(), "alt": ""})
            logo.tail = mark.tail
            parent = mark.getparent()
            if parent is not None:
                parent.replace(mark, logo)
    for links in _elements(document, "//footer[@class='site-footer']//ul"):
        for page in present:
            item = etree.SubElement(links, "li")
            etree.SubElement(item, "a", href=page.path).text = page.footer_label
    data: bytes = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    return data


def _elements(document: etree._Element, path: str) -> list[etree._Element]:
    found = document.xpath(path, namespaces=_XSL_NS)
    return [item for item in found if isinstance(item, etree._Element)] if isinstance(found, list) else []


def init_app(app: Flask) -> None:
    site = site_identity(app)
    files: dict[str, ServedFile] = {
        name: (data, media_type, hashlib.sha256(data).hexdigest()[:32], modified)
        for name, (data, media_type, modified) in site.served_files().items()
    }
    app.extensions[_FILES] = files
    app.register_blueprint(blueprint)
    app.jinja_env.globals.update(site=site, site_name=site.name)
