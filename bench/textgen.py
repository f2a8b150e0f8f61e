"""Synthetic but realistic German press-release text for the benchmark datasets.

Everything comes from one seeded `random.Random`, so a dataset of a given size is the
same on every machine. Bodies are already in the shape `feedsvc.text.sanitize_html`
produces (the smoke test checks that), so storing them raw is what the store would do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from feedsvc.text import slugify_de

TOPICS = (
    "Verkehr", "Bauen & Wohnen", "Soziales & Familie", "Umwelt & Klima", "Feuerwehr & Sicherheit",
    "Kultur", "Sport", "Bildung & Schule", "Wirtschaft", "Gesundheit", "Stadtrat & Politik", "Tourismus",
    "Veranstaltungen", "Digitales", "Energie", "Jugend", "Senioren", "Integration", "Bürgerservice",
    "Partnerstädte",
)  # fmt: skip

_PREFIXES = ("", "", "", "", "", "Bad ", "Markt ", "Sankt ", "Ober", "Unter", "Alt", "Neu", "Groß", "Klein")
_STEMS = (
    "Rosen", "Kolber", "Wasser", "Traun", "Mühl", "Mies", "Eich", "Buch", "Lind", "Brunn", "Aibl", "Prien",
    "Tegern", "Holz", "Wald", "Berg", "Stein", "Sonnen", "Fisch", "Pfaffen", "Kirch", "Wolfrats", "Gars",
    "Ebers", "Grafen", "Haag", "Anger", "Feld", "Moos", "Breiten", "Schön", "Lauf", "Reichen", "Frauen",
    "Herren", "Königs", "Ros", "Otter", "Fürsten", "Weil", "Dachs", "Hohen", "Tann", "Straß", "Ainring",
)  # fmt: skip
_SUFFIXES = (
    "heim", "moor", "burg", "stein", "dorf", "ach", "hausen", "ing", "kirchen", "feld", "au", "reut",
    "brunn", "bach", "hofen", "berg", "wang", "zell", "münster", "ried",
)  # fmt: skip
_SUBJECTS = (
    "Die Stadtverwaltung", "Der Oberbürgermeister", "Die Bürgermeisterin", "Das Bauamt", "Der Stadtrat",
    "Die Freiwillige Feuerwehr", "Das Ordnungsamt", "Die Stadtwerke", "Das Jugendamt", "Die Volkshochschule",
    "Der Bauhof", "Das Kulturamt", "Die Wirtschaftsförderung", "Das Gesundheitsamt", "Die Stadtbibliothek",
)  # fmt: skip
_VERBS = (
    "informiert über", "lädt ein zu", "beginnt mit", "verschiebt", "stellt vor", "plant", "eröffnet",
    "weist hin auf", "beschließt", "unterstützt", "erweitert", "saniert", "würdigt", "startet",
)  # fmt: skip
_OBJECTS = (
    "die Sanierung der Innbrücke", "den neuen Radweg entlang der Mangfall", "das Sommerferienprogramm",
    "die Bürgerversammlung im Rathaussaal", "den Ausbau der Ganztagsbetreuung",
    "die Sperrung der Hauptstraße",
    "das Förderprogramm für Photovoltaik", "die Verlängerung der Buslinie 12", "den Christkindlmarkt",
    "die Ehrung verdienter Sportlerinnen und Sportler", "den Neubau der Grundschule", "die Impfaktion",
    "die Erweiterung des Gewerbegebiets Nord", "das Stadtteilfest", "die Hochwasserschutzübung",
    "die Umstellung auf LED-Straßenbeleuchtung", "die Öffnungszeiten des Wertstoffhofs",
    "den Haushalt für das kommende Jahr", "die Partnerschaft mit der Stadt Shanghai", "das neue Bürgerportal",
)  # fmt: skip
_TAILS = (
    "am kommenden Montag", "ab dem 1. März", "in den nächsten Wochen", "bis Ende des Jahres",
    "im Rahmen einer Pressekonferenz", "gemeinsam mit dem Landratsamt", "nach einem einstimmigen Beschluss",
    "trotz der angespannten Haushaltslage", "für rund 2,4 Millionen Euro", "mit Unterstützung des Freistaats",
)  # fmt: skip
_QUOTES = (
    "„Wir haben lange auf diesen Tag hingearbeitet.“",
    "„Das ist ein wichtiges Signal für alle Bürgerinnen und Bürger.“",
    "„Ohne das Ehrenamt wäre das nicht möglich gewesen.“",
    "„Wir bitten alle Verkehrsteilnehmer um Verständnis.“",
)
_FIRST = ("Anna", "Katharina", "Matthias", "Josef", "Li", "Elif", "Thomas", "Sabine", "Florian", "Miriam")
_LAST = ("Huber", "Wallner", "Unterberger", "Maier", "Schmid", "Wang", "Yılmaz", "Bauer", "Gruber", "Hofer")


def _upper_first(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Place:
    name: str
    slug: str


def unique_places(rng: random.Random, count: int, prefix: str = "") -> list[Place]:
    """`count` invented place names with distinct slugs (umlauts and all)."""
    places: list[Place] = []
    seen: set[str] = set()
    while len(places) < count:
        head, stem = rng.choice(_PREFIXES), rng.choice(_STEMS)
        name = prefix + head + (stem if head in ("", "Bad ", "Markt ", "Sankt ") else stem.lower())
        name += rng.choice(_SUFFIXES)
        if len(seen) > count // 2 and rng.random() < 0.3:
            name += f" a. {rng.choice(('Inn', 'Chiemsee', 'Main', 'Lech', 'Isar'))}"
        slug = slugify_de(name)
        if slug and slug not in seen:
            seen.add(slug)
            places.append(Place(name, slug))
    return places


class TextSource:
    """Titles, summaries and HTML bodies drawn from pools of sentences."""

    def __init__(self, rng: random.Random, pool_size: int = 3000) -> None:
        self.rng = rng
        self.sentences = [self._sentence() for _ in range(pool_size)]

    def _sentence(self) -> str:
        rng = self.rng
        parts = [rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS)]
        if rng.random() < 0.7:
            parts.append(rng.choice(_TAILS))
        sentence = " ".join(parts) + "."
        if rng.random() < 0.3:
            phone = f"0{rng.randint(8000, 8999)} {rng.randint(1000, 99999)}"
            sentence += f" Weitere Auskünfte gibt es unter der Rufnummer {phone}."
        return sentence

    def title(self) -> str:
        """40–120 characters, as press offices write them."""
        rng = self.rng
        text = f"{_upper_first(rng.choice(_OBJECTS)[4:])}: {rng.choice(_SUBJECTS)} {rng.choice(_VERBS)}"
        text += f" {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}"
        limit = rng.randint(40, 120)
        if len(text) > limit:
            text = text[:limit].rsplit(" ", 1)[0]
        return text if len(text) >= 40 else text + " – Pressemitteilung der Stadt"

    def summary(self) -> str:
        """About 250 characters of plain text."""
        text = ""
        while len(text) < 220:
            text = f"{text} {self.rng.choice(self.sentences)}".strip()
        return text[:280].rsplit(" ", 1)[0] if len(text) > 280 else text

    def body(self, site: str) -> str:
        """1.5–5 KB of sanitised HTML: paragraphs, sometimes a heading, a list, a quote, a link."""
        rng = self.rng
        # The last chunk may overshoot by a few hundred bytes: 1.5–5 KB in all.
        target = rng.randint(1500, 4600)
        chunks: list[str] = []
        size = 0
        while size < target:
            roll = rng.random()
            if roll < 0.12 and chunks:
                chunk = f"<h2>{_upper_first(rng.choice(_OBJECTS)[4:])}</h2>"
            elif roll < 0.18:
                items = "".join(
                    f"<li>{_upper_first(rng.choice(_OBJECTS))}</li>" for _ in range(rng.randint(2, 4))
                )
                chunk = f"<ul>{items}</ul>"
            elif roll < 0.24:
                chunk = f"<blockquote><p>{rng.choice(_QUOTES)}</p></blockquote>"
            else:
                text = " ".join(rng.choice(self.sentences) for _ in range(rng.randint(2, 5)))
                if rng.random() < 0.25:
                    link = f'<a href="{site}/aktuelles/{rng.randint(1, 99999)}">weitere Informationen</a>'
                    text += f" Alle Details und <strong>{link}</strong> auf der Website der Stadt."
                chunk = f"<p>{text}</p>"
            chunks.append(chunk)
            size += len(chunk.encode("utf-8"))
        return "".join(chunks)

    def person(self) -> str:
        return f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}"

    def caption(self) -> str:
        return f"{_upper_first(self.rng.choice(_OBJECTS))} – Aufnahme vom Ortstermin."
