"""What the publish form tells a press officer about what publishing did, in German."""

from __future__ import annotations

from datetime import datetime

from feedsvc.models import Draft, Release
from feedsvc.publishing.service import Conflict, ConflictReason
from feedsvc.web.pages.formatting import german_datetime

OUT_OF_SCOPE = "Für diese Stadt dürfen Sie nicht veröffentlichen."
ALREADY_PUBLISHED = (
    "Bereits veröffentlicht: {title}. Das Formular wurde mehrfach gesendet, die Meldung erscheint nur einmal."
)
OTHER_CONTENT = (
    "Dieses Formular wurde bereits als „{title}“ veröffentlicht, damals mit anderem Inhalt. "
    "Es wurde nichts gespeichert. Bitte korrigieren Sie die veröffentlichte Meldung. "
    "Nur wenn Sie eine weitere, eigene Pressemitteilung veröffentlichen wollen, "
    "senden Sie das Formular noch einmal."
)
RETRACTED = (
    "Dieses Formular wurde bereits als „{title}“ veröffentlicht; die Meldung ist inzwischen zurückgezogen. "
    "Es wurde nichts gespeichert. Wenn Sie sie als neue Pressemitteilung veröffentlichen wollen, "
    "senden Sie das Formular noch einmal."
)


def already_published_message(release: Release) -> str:
    """For a form sent again unchanged: its release exists once and stays as it is."""
    return ALREADY_PUBLISHED.format(title=release.title)


def conflict_message(conflict: Conflict) -> str:
    """For a form sent again with other content, or whose release was retracted since."""
    template = RETRACTED if conflict.reason is ConflictReason.RETRACTED else OTHER_CONTENT
    return template.format(title=conflict.existing.title)


DRAFT_CHANGED = (
    "Dieser Entwurf wurde inzwischen noch einmal gespeichert ({by}, {at}). Es wurde nichts gespeichert "
    "und nichts veröffentlicht. Unten steht Ihre Fassung: Senden Sie sie noch einmal, ersetzt sie die "
    "neuere; oder öffnen Sie den Entwurf neu, um die neuere zu sehen."
)


def published_message(release: Release, now: datetime) -> str:
    """For a release just published, or scheduled for later."""
    if release.published_at > now:
        return f"Geplant für {german_datetime(release.published_at)}: {release.title}"
    return f"Veröffentlicht: {release.title}"


def draft_changed_message(draft: Draft) -> str:
    """For a form whose draft was saved again since the form was opened."""
    return DRAFT_CHANGED.format(by=draft.updated_by or "unbekannt", at=german_datetime(draft.updated_at))
