"""What the publish form tells a press officer about what publishing did, in German."""

from __future__ import annotations

from feedsvc.models import Release
from feedsvc.publishing.service import Conflict, ConflictReason

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
