"""`/preview/<secret>`: a draft or a release under embargo as its page would look, to whoever
has the link (docs/pages.md#preview-links).

The page is the release page's own template, marked as a preview ("Entwurf, nicht
veröffentlicht" or "Sperrfrist bis …"). A draft's fields are cleaned exactly as publishing
would clean them (`text.clean_body` for the body, `text.plain_text` for plain fields): what
the preview shows is what would be published. The answer is for its reader alone: never
stored (`Cache-Control: private, no-store`), never indexed (`noindex` in the page and in
`X-Robots-Tag`), and no page it links to learns the secret (`Referrer-Policy: no-referrer`).
An unknown, expired or revoked link, and one of a retracted release or of a draft without a
city, answers exactly as an unknown page; a link of a release that is public by now leads to
its page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, render_template, request
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from feedsvc import db, paths
from feedsvc.models import City, Draft, Release, Topic
from feedsvc.publishing.input import ContactIn, HttpUrl, ImageIn, is_slug
from feedsvc.store import catalog, preview_links
from feedsvc.store.browse import related_visible
from feedsvc.store.releases import release_by_id
from feedsvc.text import HtmlTooDeep, clean_body, plain_text, summary_from_html
from feedsvc.web import urls
from feedsvc.web.pages.draft_form import form_of_draft
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.formatting import german_datetime
from feedsvc.web.pages.head import Head, feed_links
from feedsvc.web.pages.jsonld import news_article, script_json
from feedsvc.web.pages.publish_form import local_datetime, release_fields
from feedsvc.web.pages.release import RELATED_COUNT
from feedsvc.web.pages.responses import now

blueprint = Blueprint("preview", __name__)

# What `secrets.token_urlsafe(32)` makes (`store.preview_links`); nothing else is looked up.
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")
PREVIEW_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
}
DRAFT_NOTICE = "Entwurf, nicht veröffentlicht"
_URL = TypeAdapter(HttpUrl)


@dataclass(frozen=True)
class _Office:
    name: str


@dataclass(frozen=True)
class _Image:
    url: str
    caption: str
    credit: str


@dataclass(frozen=True)
class _Attachment:
    url: str
    title: str


@dataclass(frozen=True)
class DraftPage:
    """A draft as the release page shows a release: the attributes its template reads."""

    title: str
    city: City
    publisher: _Office
    author: str
    body_html: str
    summary: str
    summary_derived: bool
    published_at: datetime
    updated_at: datetime
    topics: list[Topic]
    images: list[_Image] = field(default_factory=list)
    attachments: list[_Attachment] = field(default_factory=list)
    source_url: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    language: str = "de"
    revision: int = 1
    correction_note: str | None = None


@blueprint.get("/preview/<secret>")
def preview_page(secret: str) -> Response:
    session = db.session()
    moment = now()
    link = preview_links.link_by_secret(session, secret, moment) if _SECRET.fullmatch(secret) else None
    if link is not None and link.release_id is not None:
        release = release_by_id(session, link.release_id)
        if release is not None and release.retracted_at is None:
            if release.published_at <= moment:
                return _private(Response(status=303, headers={"Location": paths.release_path(release)}))
            return _release_preview(session, release, moment)
    if link is not None and link.draft_id is not None:
        draft = session.get(Draft, link.draft_id)
        if draft is not None and draft.city is not None:
            return _draft_preview(session, draft, draft.city, moment)
    return error_response(404)  # as any page that does not exist


def _release_preview(session: Session, release: Release, moment: datetime) -> Response:
    city_path = paths.subject_path(city=release.city)
    page_url = urls.release_url(release)
    json_ld = script_json(news_article(release, page_url, urls.absolute(city_path)))
    notice = f"Sperrfrist bis {german_datetime(release.published_at)}"
    related = related_visible(session, release, moment, RELATED_COUNT)
    return _preview(release, release.city, notice, related=related, json_ld=json_ld)


def _draft_preview(session: Session, draft: Draft, city: City, moment: datetime) -> Response:
    return _preview(draft_page(session, draft, city, moment), city, DRAFT_NOTICE)


def _preview(
    shown: Release | DraftPage,
    city: City,
    notice: str,
    related: list[Release] | None = None,
    json_ld: str = "",
) -> Response:
    city_path = paths.subject_path(city=city)
    head = Head(
        title=f"Vorschau: {shown.title}",
        description=shown.summary,
        canonical=urls.absolute(request.path),
        alternates=feed_links(city_path, city.name),
        noindex=True,
    )
    html = render_template(
        "pages/release.html",
        head=head,
        release=shown,
        related=related or [],
        city_path=city_path,
        json_ld=json_ld,
        preview=notice,
    )
    return _private(Response(html, mimetype="text/html"))


def _private(response: Response) -> Response:
    response.headers.update(PREVIEW_HEADERS)
    return response


def draft_page(session: Session, draft: Draft, city: City, moment: datetime) -> DraftPage:
    """The draft as its release would be published: each field cleaned as publishing cleans it;
    what publishing would refuse (an invalid image, a missing title) is left out."""
    form = form_of_draft(draft)
    fields: dict[str, Any] = release_fields(form)
    source_url = _valid_url(fields.get("source_url"))
    try:
        body = clean_body(str(fields.get("body", "")), base_url=source_url)
    except HtmlTooDeep:
        body = ""
    summary = plain_text(str(fields.get("summary") or ""))
    contact = _contact(fields.get("contact"))
    slugs = [slug for slug in fields.get("topics", []) if is_slug(slug)]
    named = catalog.topics_named(session, slugs)
    office = _office_name(session, city)
    return DraftPage(
        title=plain_text(str(fields.get("title", ""))) or "(ohne Titel)",
        city=city,
        publisher=_Office(office),
        author=plain_text(str(fields.get("author") or "")) or office,
        body_html=body,
        summary=summary or summary_from_html(body),
        summary_derived=not summary,
        published_at=local_datetime(form.value("published_at")) or moment,
        updated_at=moment,
        topics=list(dict.fromkeys(named[slug] for slug in slugs if slug in named)),
        images=[_Image(i.url, i.caption, i.credit) for i in _images(fields.get("images", []))],
        attachments=[
            _Attachment(url, plain_text(str(item.get("title") or "")))
            for item in fields.get("attachments", [])
            if isinstance(item, dict) and (url := _valid_url(item.get("url"))) is not None
        ],
        source_url=source_url,
        contact_name=contact.name if contact else None,
        contact_email=contact.email if contact else None,
        contact_phone=contact.phone if contact else None,
    )


def _valid_url(value: object) -> str | None:
    try:
        return _URL.validate_python(value) if isinstance(value, str) else None
    except ValidationError:
        return None


def _contact(value: object) -> ContactIn | None:
    try:
        return ContactIn.model_validate(value) if isinstance(value, dict) else None
    except ValidationError:
        return None


def _images(values: object) -> list[ImageIn]:
    images: list[ImageIn] = []
    for value in values if isinstance(values, list) else []:
        try:
            images.append(ImageIn.model_validate(value))
        except ValidationError:
            continue
    return images


def _office_name(session: Session, city: City) -> str:
    """The press office a release of `city` would name by default; read only (publishing makes
    a new office "Pressestelle <city>", as `catalog.office_of_city` names it)."""
    offices = catalog.publishers_of_city(session, city)
    return offices[0].name if offices else f"Pressestelle {city.name}"
