"""Subscriptions on the site (docs/feeds.md#subscriptions): `/subscriptions/new` puts
any cities, regions and topics, a search and an urgency floor together; the answer is
the subscription's page `/subscriptions/<key>`, its releases newest first with its
feeds, its ninjs feed and the ways to be told by e-mail or webhook.

Making a subscription needs no sign-in and no CSRF secret: it changes nothing anybody
sees (the same filter is always the same subscription, holding only public releases).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from pydantic import ValidationError

from feedsvc import db, paths
from feedsvc.publishing.input import FieldError, field_errors
from feedsvc.publishing.subscriptions import NotSubscribed, SubscriptionIn, name_errors, subscribe
from feedsvc.store import catalog, subscriptions
from feedsvc.store.releases import newest_visible
from feedsvc.store.scope import Cursor, decode_cursor, encode_cursor
from feedsvc.web import urls
from feedsvc.web.feeds.content import filter_title, subscription_subject
from feedsvc.web.pages.head import Head, feed_links
from feedsvc.web.pages.responses import now, private_page, public_page

blueprint = Blueprint("subscription_pages", __name__)

PAGE_SIZE = 20
FIELD_LABELS = {
    "cities": "Städte",
    "regions": "Regionen",
    "topics": "Themen",
    "q": "Suche",
    "urgency": "Dringlichkeit",
}


@blueprint.get("/subscriptions/<key>")
def subscription_page(key: str) -> Response:
    subscription = subscriptions.by_key(db.session(), key)
    if subscription is None:
        abort(404)
    after = None
    if "after" in request.args and (after := decode_cursor(request.args["after"])) is None:
        abort(400)
    subject = subscription_subject(subscription)
    rows = newest_visible(db.session(), subscription, now(), PAGE_SIZE + 1, after)
    releases = rows[:PAGE_SIZE]
    older = None
    if len(rows) > PAGE_SIZE:
        cursor = Cursor(releases[-1].published_at, releases[-1].id)
        older = f"{subject.page_path}?after={encode_cursor(cursor)}"
    title = f"Ihre Auswahl: {subject.title}"
    ninjs = paths.feed_path(subject.page_path, "ninjs.json") if "ninjs.json" in paths.FEED_FORMATS else None
    return public_page(
        "pages/subscription.html",
        subjects=list(subject.counters),
        head=Head(
            title=title,
            description=f"Pressemitteilungen: {subject.title}",
            canonical=urls.absolute(subject.page_path),
            alternates=feed_links(subject.page_path, subject.title),
            # Filters are countless: only the subject pages are for search engines.
            noindex=True,
        ),
        title=title,
        subscription=subscription,
        releases=releases,
        older=older,
        is_first_page=after is None,
        page_path=subject.page_path,
        ninjs_url=urls.absolute(ninjs) if ninjs else None,
        api_url=urls.absolute(f"/api/v1/subscriptions/{subscription.key}"),
    )


@blueprint.get("/subscriptions/new")
def new_subscription() -> Response:
    return _form(SubscriptionIn(), {})


@blueprint.post("/subscriptions")
def create_subscription() -> Response:
    form = request.form
    raw = {
        "cities": form.getlist("cities"),
        "regions": form.getlist("regions"),
        "topics": form.getlist("topics"),
        "q": form.get("q", "").strip() or None,
        "urgency": _whole_number(form.get("urgency", "")),
    }
    try:
        data = SubscriptionIn.model_validate(raw)
    except ValidationError as error:
        errors = [*name_errors(db.session(), raw), *field_errors(error)]
        return _form(None, _german(errors), status=422)
    session = db.session()
    db.begin_writing(session)
    outcome = subscribe(session, data, current_app.config["CLOCK"]())
    if isinstance(outcome, NotSubscribed):
        session.rollback()
        return _form(data, _german(list(outcome.errors)), status=422)
    session.commit()
    return Response(status=303, headers={"Location": paths.subscription_path(outcome.subscription.key)})


def _whole_number(text: str) -> int | str | None:
    """A form's number as an int (ASCII digits only), the text as it was otherwise (for the
    schema to refuse), None when empty."""
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) < 4 else text


def _german(errors: list[FieldError]) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in errors:
        name = error.field.partition(".")[0]
        if name in found:
            continue
        label = FIELD_LABELS.get(name, "Auswahl")
        if "unknown" in error.message:
            found[name] = f"{label}: Diesen Eintrag gibt es nicht (mehr)."
        elif "retired" in error.message:
            found[name] = f"{label}: Dieser Eintrag ist eingestellt."
        elif name == "urgency":
            found[name] = "Dringlichkeit: Bitte eine Stufe von 1 bis 9 wählen."
        elif name == "q":
            found[name] = (
                "Die Suche ist so nicht lesbar. Bitte Wörter, „Wortgruppen“, "
                "-ausgeschlossen oder OR verwenden."
            )
        else:
            found[name] = (
                f"{label}: Bitte die Auswahl prüfen (höchstens {subscriptions.MAX_PER_KIND} je Art)."
            )
    return found


def _form(data: SubscriptionIn | None, errors: dict[str, str], status: int = 200) -> Response:
    session = db.session()
    return private_page(
        "pages/subscription_new.html",
        status=status,
        head=Head(
            title="Eigenen Feed zusammenstellen",
            description="Städte, Regionen und Themen zu einem Feed zusammenstellen",
            canonical=urls.absolute("/subscriptions/new"),
        ),
        cities=catalog.cities(session),
        regions=catalog.regions(session),
        topics=catalog.topics(session),
        chosen=data or SubscriptionIn(),
        errors=errors,
        describe=filter_title,
    )
