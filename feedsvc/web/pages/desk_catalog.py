"""`/publish/catalog`: admins add, rename, merge and retire regions, cities, topics and
press offices in the desk (docs/pages.md#the-catalog). Everyone else gets 403.

Every change is `feedsvc.publishing.catalog_changes`'s, the same as `feedsvc catalog`'s
and the admin API's, in one transaction: old slugs redirect, feeds are told through the
outbox, and a refusal changes nothing. Here its outcome becomes a page: a 303 with a
flashed message, or the page again (422) with the refusal in German beside the form,
and what was typed kept. Merging and retiring cannot be undone, so their forms ask for
a ticked confirmation first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, flash, request
from pydantic import BaseModel, ValidationError

from feedsvc import db
from feedsvc.publishing.catalog_changes import (
    CHANGE_INPUT,
    ENTRY_INPUT,
    CatalogChanges,
    CatalogRefused,
    Changed,
    MergeInto,
)
from feedsvc.publishing.input import FieldError, field_errors
from feedsvc.store import catalog, catalog_history
from feedsvc.store.audit import Acting
from feedsvc.store.catalog_history import name_of
from feedsvc.text import plain_text
from feedsvc.web.pages import desk
from feedsvc.web.pages.desk import admin_only
from feedsvc.web.pages.publish_form import german_message
from feedsvc.web.pages.publish_session import SignedIn
from feedsvc.web.pages.responses import private_page

blueprint = desk.blueprint("desk_catalog", __name__)

KINDS = ("region", "city", "topic", "publisher")
ACTIONS = ("add", "rename", "merge", "retire")
# Each kind's noun: singular, its definite, indefinite and negative article, plural.
_NOUNS = {
    "region": ("Region", "die", "eine", "keine", "Regionen"),
    "city": ("Stadt", "die", "eine", "keine", "Städte"),
    "topic": ("Thema", "das", "ein", "kein", "Themen"),
    "publisher": ("Pressestelle", "die", "eine", "keine", "Pressestellen"),
}
# How catalog_changes names each kind in its messages.
_ENGLISH_KIND = {"region": "region", "city": "city", "topic": "topic", "press office": "publisher"}
_NOUN_PATTERN = "(region|city|topic|press office)"
# What each form sends, by action and kind (None: every kind).
_FIELDS: dict[str, dict[str | None, tuple[str, ...]]] = {
    "add": {
        "region": ("slug", "name", "state"),
        "city": ("slug", "name", "region", "state", "ags"),
        "topic": ("slug", "name"),
        "publisher": ("name", "cities"),
    },
    "rename": {"publisher": ("key", "name"), None: ("key", "slug", "name")},
    "merge": {None: ("key", "into", "confirm")},
    "retire": {None: ("key", "confirm")},
}
# Left empty, these are left out: the entry keeps (or gets) its default.
_OPTIONAL = {("city", "state"), ("city", "ags")}
CONFIRMED = "ja"

FILL_IN = "Bitte ausfüllen."
NOTHING_TO_RENAME = "Bitte geben Sie ein neues Kürzel, einen neuen Namen oder beides an."
CONFIRM_MERGE = (
    "Bitte bestätigen Sie, dass Sie zusammenführen wollen: Das lässt sich nicht rückgängig machen."
)
CONFIRM_RETIRE = "Bitte bestätigen Sie, dass Sie einstellen wollen: Das lässt sich nicht rückgängig machen."
FIELDS_INVALID = "Bitte prüfen Sie die markierten Felder."


@dataclass(frozen=True)
class Posted:
    """The form that was sent, what it held and what is wrong with it, to show it again."""

    kind: str
    action: str
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def fields_of(kind: str, action: str) -> tuple[str, ...]:
    by_kind = _FIELDS[action]
    return by_kind.get(kind) or by_kind[None]


def _catalog_page(status: int = 200, posted: Posted | None = None) -> Response:
    session = db.session()
    listed: dict[str, Sequence[Any]] = {
        "region": catalog.regions(session, retired=True),
        "city": catalog.cities(session, retired=True),
        "topic": catalog.topics(session, retired=True),
        "publisher": catalog.publishers(session, retired=True),
    }
    former = {
        kind: catalog_history.former_names(session, kind, [row.id for row in rows])
        for kind, rows in listed.items()
    }
    return private_page(
        "publish/catalog.html",
        status=status,
        head=desk.head("Katalog"),
        kinds=KINDS,
        nouns=_NOUNS,
        listed=listed,
        former=former,
        posted=posted,
        confirmed=CONFIRMED,
    )


@blueprint.get("/catalog")
@admin_only
def catalog_page(signed: SignedIn) -> Response:
    return _catalog_page()


@blueprint.post(
    "/catalog/<any(region, city, topic, publisher):kind>/<any(add, rename, merge, retire):action>"
)
@admin_only
def change(signed: SignedIn, kind: str, action: str) -> Response:
    # Plain text: no markup, no control characters (PostgreSQL compares no NUL).
    values = {name: plain_text(request.form.get(name, "")) for name in fields_of(kind, action)}
    posted = Posted(kind, action, values)
    attempt = _ATTEMPTS[action](_Attempt(kind, values, posted.errors, signed.acting))
    if isinstance(attempt, CatalogRefused):
        _word_refusal(attempt, posted.errors)
    if posted.errors:
        return _catalog_page(422, posted)
    assert isinstance(attempt, str)
    flash(attempt)
    return desk.see_other("desk_catalog.catalog_page", _anchor=kind)


# --- each action -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attempt:
    """One form's values for one kind; `errors` collects what the form itself refuses."""

    kind: str
    values: dict[str, str]
    errors: dict[str, str]
    by: Acting

    @property
    def changes(self) -> CatalogChanges:
        return CatalogChanges(db.session(), now=current_app.config["CLOCK"](), by=self.by)

    def required(self, *names: str) -> None:
        for name in names:
            if not self.values[name]:
                self.errors.setdefault(name, FILL_IN)

    def validated(self, model: type[BaseModel], data: dict[str, Any]) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            _field_messages(field_errors(error), self.errors)
            return None

    def confirmed(self, message: str) -> None:
        if self.values["confirm"] != CONFIRMED:
            self.errors["confirm"] = message


# An attempt's result: the message of its success, or why the catalog refused it (the
# form's own refusals are in the attempt's errors).
Result = str | CatalogRefused | None


def _add(attempt: _Attempt) -> Result:
    kind, values = attempt.kind, attempt.values
    data: dict[str, Any] = {}
    for name, value in values.items():
        if name == "cities":
            data[name] = _slugs(value)
        elif value or (kind, name) not in _OPTIONAL:
            data[name] = value
    new = attempt.validated(ENTRY_INPUT[kind], data)
    if new is None:
        return None
    outcome = attempt.changes.add(kind, new)
    if isinstance(outcome, CatalogRefused):
        return outcome
    return f"{_NOUNS[kind][0]} „{outcome.entry.name}“{_slug_of(outcome)} angelegt."


def _rename(attempt: _Attempt) -> Result:
    kind, values = attempt.kind, attempt.values
    attempt.required("key")
    data = {name: values[name] for name in ("slug", "name") if values.get(name)}
    if not data:
        attempt.errors["slug" if kind != "publisher" else "name"] = NOTHING_TO_RENAME
    if attempt.errors:
        return None
    changed = attempt.validated(CHANGE_INPUT[kind], data)
    if changed is None:
        return None
    outcome = attempt.changes.change(kind, values["key"], changed)
    if isinstance(outcome, CatalogRefused):
        return outcome
    return (
        f"{_NOUNS[kind][0]} heißt jetzt „{outcome.entry.name}“{_slug_of(outcome)}; "
        "die alten Adressen leiten dorthin weiter."
    )


def _merge(attempt: _Attempt) -> Result:
    kind, values = attempt.kind, attempt.values
    attempt.required("key", "into")
    attempt.confirmed(CONFIRM_MERGE)
    # A press office is named by its id or its name; the others by a slug.
    if values["into"] and kind != "publisher":
        attempt.validated(MergeInto, {"into": values["into"]})
    if attempt.errors:
        return None
    outcome = attempt.changes.merge(kind, values["key"], values["into"])
    if isinstance(outcome, CatalogRefused):
        return outcome
    return (
        f"„{values['key']}“ ist in „{name_of(outcome.entry)}“ aufgegangen: Die Meldungen stehen dort, "
        "die alten Adressen leiten dorthin weiter."
    )


def _retire(attempt: _Attempt) -> Result:
    kind, values = attempt.kind, attempt.values
    attempt.required("key")
    attempt.confirmed(CONFIRM_RETIRE)
    if attempt.errors:
        return None
    outcome = attempt.changes.retire(kind, values["key"])
    if isinstance(outcome, CatalogRefused):
        return outcome
    return (
        f"{_NOUNS[kind][0]} „{name_of(outcome.entry)}“ ist eingestellt: Neue Pressemitteilungen werden "
        "dafür nicht mehr angenommen; Seite und Feeds bleiben."
    )


_ATTEMPTS: dict[str, Callable[[_Attempt], Result]] = {
    "add": _add,
    "rename": _rename,
    "merge": _merge,
    "retire": _retire,
}


def _slugs(value: str) -> list[str]:
    """The city slugs of a press office, separated by commas or spaces."""
    return [slug for slug in re.split(r"[,\s]+", value) if slug]


def _slug_of(outcome: Changed) -> str:
    slug = getattr(outcome.entry, "slug", None)
    return f" ({slug})" if slug else ""


# --- refusals in German -----------------------------------------------------------------------------


def _word_refusal(refused: CatalogRefused, errors: dict[str, str]) -> None:
    """The catalog's refusal beside the fields it names, or above the form."""
    if refused.errors:
        _field_messages(refused.errors, errors)
    else:
        errors["form"] = german(refused.message)


def _field_messages(found: Sequence[FieldError], errors: dict[str, str]) -> None:
    for each in found:
        # "cities.2": the form has one field for all of a press office's cities.
        name = each.field.split(".", 1)[0]
        if name == "(body)":
            name = "form"
        if name not in errors:
            errors[name] = german(each.message, name)
        elif german(each.message, name) not in errors[name]:
            errors[name] += " " + german(each.message, name)
    if not errors:
        errors["form"] = FIELDS_INVALID


def _quoted(text: str) -> str:
    """'x' in German quotation marks: „x“."""
    return re.sub(r"'([^']*)'", r"„\1“", text)


def _noun(english: str, form: int = 0) -> str:
    return _NOUNS[_ENGLISH_KIND[english]][form]


def _hint(meant: str | None) -> str:
    return f" Meinten Sie „{meant}“?" if meant else ""


def _since(year: str, month: str, day: str) -> str:
    return f"{day}.{month}.{year}"


# The messages of `catalog_changes` and of its input models, in German. Each pattern is
# one message there; what it names is carried over.
_GERMAN: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(pattern), word)
    for pattern, word in (
        (
            r"^press office (\d+) was merged into '(.*)' \(id (\d+)\)$",
            lambda m: f"Die Pressestelle Nr. {m[1]} ist in „{m[2]}“ (Nr. {m[3]}) aufgegangen.",
        ),
        (
            r"^press office (\d+) was merged into another$",
            lambda m: f"Die Pressestelle Nr. {m[1]} ist in einer anderen aufgegangen.",
        ),
        (
            rf"^there is no {_NOUN_PATTERN} '(.*)' any more: it is now '(.*)'$",
            lambda m: f"„{m[2]}“ gibt es nicht mehr: Das ist jetzt „{m[3]}“.",
        ),
        (
            rf"^no {_NOUN_PATTERN} '(.*?)'(?:; did you mean '(.*)'\?)?$",
            lambda m: f"Es gibt {_noun(m[1], 3)} {_noun(m[1])} „{m[2]}“.{_hint(m[3])}",
        ),
        (
            rf"^unknown {_NOUN_PATTERN} '(.*?)'(?:; did you mean '(.*)'\?)?$",
            lambda m: f"Es gibt {_noun(m[1], 3)} {_noun(m[1])} „{m[2]}“.{_hint(m[3])}",
        ),
        (
            rf"^a {_NOUN_PATTERN} cannot be merged into itself$",
            lambda m: (
                f"{_noun(m[1], 2).title()} {_noun(m[1])} lässt sich nicht mit sich selbst zusammenführen."
            ),
        ),
        (
            rf"^the {_NOUN_PATTERN} '(.*)' is retired: merge into a current one$",
            lambda m: (
                f"{_noun(m[1], 1).title()} {_noun(m[1])} „{m[2]}“ ist eingestellt: "
                "Zusammengeführt wird nur mit einem Eintrag, der noch geführt wird."
            ),
        ),
        (
            rf"^the {_NOUN_PATTERN} '(.*)' has regions below it: it cannot be (merged|retired)$",
            lambda m: (
                f"{_noun(m[1], 1).title()} {_noun(m[1])} „{m[2]}“ hat Regionen unter sich und kann deshalb "
                f"nicht {'zusammengeführt' if m[3] == 'merged' else 'eingestellt'} werden."
            ),
        ),
        (
            r"^both press offices hold releases with the external_id (.*): "
            r"a press office holds each external_id once$",
            lambda m: (
                f"Beide Pressestellen haben Pressemitteilungen mit der external_id {_quoted(m[1])}, und eine "
                "Pressestelle führt jede external_id nur einmal: Sie lassen sich so nicht zusammenführen."
            ),
        ),
        (
            rf"^the {_NOUN_PATTERN} '(.*)' was retired already, on (\d{{4}})-(\d\d)-(\d\d)$",
            lambda m: (
                f"{_noun(m[1], 1).title()} {_noun(m[1])} „{m[2]}“ ist schon eingestellt, "
                f"seit dem {_since(m[3], m[4], m[5])}."
            ),
        ),
        (
            r"^the region '(.*)' still has the cities (.*): "
            r"move them to another region or retire them first$",
            lambda m: (
                f"Zur Region „{m[1]}“ gehören noch die Städte {_quoted(m[2])}: Bitte ordnen Sie sie zuerst "
                "einer anderen Region zu oder stellen Sie sie ein."
            ),
        ),
        (
            rf"^the (?:slug|name) '(.*)' belonged to a {_NOUN_PATTERN} merged into (.*): "
            r"it stays reserved, its old URLs redirect there$",
            lambda m: (
                f"„{m[1]}“ bleibt reserviert: So hieß ein Eintrag, der in {_quoted(m[3])} aufgegangen ist, "
                "und die alten Adressen leiten dorthin weiter."
            ),
        ),
        (
            rf"^the (?:slug|name) '(.*)' belonged to the {_NOUN_PATTERN} now called '(.*)': "
            r"it stays reserved, its old URLs redirect there$",
            lambda m: (
                f"„{m[1]}“ bleibt reserviert: So hieß früher „{m[3]}“, und die alten Adressen leiten "
                "dorthin weiter."
            ),
        ),
        (
            r"^there is a press office '(.*)' already: "
            r"names that differ only in case or spaces name one office$",
            lambda m: (
                f"Meinten Sie „{m[1]}“? Namen, die sich nur in Groß- und Kleinschreibung oder Leerzeichen "
                "unterscheiden, bezeichnen dieselbe Pressestelle."
            ),
        ),
        (
            rf"^there is a {_NOUN_PATTERN} '(.*)' already$",
            lambda m: f"Es gibt schon {_noun(m[1], 2)} {_noun(m[1])} „{m[2]}“.",
        ),
        (
            r"^the AGS (\d+) is the city '(.*)'s already$",
            lambda m: f"Den Amtlichen Gemeindeschlüssel {m[1]} hat schon die Stadt „{m[2]}“.",
        ),
        (
            rf"^the {_NOUN_PATTERN} '(.*)' is retired$",
            lambda m: f"{_noun(m[1], 1).title()} {_noun(m[1])} „{m[2]}“ ist eingestellt.",
        ),
        (
            rf"^'(.*)' is a {_NOUN_PATTERN}, not a {_NOUN_PATTERN}: "
            r"entries merge only with entries of their own kind$",
            lambda m: (
                f"„{m[1]}“ ist {_noun(m[2], 2)} {_noun(m[2])}, {_noun(m[3], 3)} {_noun(m[3])}: "
                "Zusammengeführt wird nur mit Einträgen derselben Art."
            ),
        ),
        (
            r"^another change of the catalog came first: try again$",
            lambda m: "Eine andere Änderung des Katalogs kam dazwischen: Bitte versuchen Sie es noch einmal.",
        ),
        (r"^some fields are invalid$", lambda m: FIELDS_INVALID),
        (
            r"^must be a slug: lowercase letters, digits and single hyphens$",
            lambda m: "Nur Kleinbuchstaben a–z, Ziffern und einzelne Bindestriche, etwa „bad-aibling“.",
        ),
        (r"^String should have at least 1 character", lambda m: FILL_IN),
    )
)
_PATTERN_MESSAGES = {"ags": "Der Amtliche Gemeindeschlüssel hat genau 8 Ziffern."}


def german(message: str, name: str = "") -> str:
    """A message of the catalog's changes (or of their input) in German; one we do not
    know, as it is."""
    for pattern, word in _GERMAN:
        if match := pattern.match(message):
            return word(match)
    if message.startswith("String should match pattern") and name in _PATTERN_MESSAGES:
        return _PATTERN_MESSAGES[name]
    return german_message(name, message)
