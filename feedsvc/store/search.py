"""Full-text search over releases' title, summary and body: the `q` filter of feeds and the API.

A user's query is parsed once into words, quoted phrases, exclusions (`-word`) and
alternatives (`or`), the syntax of PostgreSQL's `websearch_to_tsquery`, and written
anew for the backend, so no user input ever reaches a search engine's own syntax:

- PostgreSQL: `websearch_to_tsquery('german', …)` against a stored tsvector with a
  GIN index (German stemming: "Wohnungen" finds "Wohnung").
- SQLite: an FTS5 MATCH with every word quoted. FTS5 has no German stemmer, so a
  bare word of three or more letters matches as a prefix ("Wohnung" finds
  "Wohnungen" and "Wohnungsnot"); diacritics are folded ("Munchen" finds "München").

The index objects come from migration 0004. Visibility (embargo, retraction) is
not decided here: the callers' queries filter it as for every feed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import ColumnElement, column, func, literal_column, select, table
from sqlalchemy.dialects.postgresql import TSVECTOR

from feedsvc.models import Release
from feedsvc.text import strip_xml_forbidden

MAX_QUERY_LENGTH = 200
MAX_WORDS = 16
# Shorter prefixes would match most of the index (SQLite).
MIN_PREFIX_LENGTH = 3

# A quoted phrase (the closing quote may be missing) or a run of anything else.
_TOKEN_RE = re.compile(r'(?P<neg>-?)(?:"(?P<phrase>[^"]*)"?|(?P<bare>[^\s"]+))')
# What both backends' tokenizers call a word: letters and digits.
_WORD_RE = re.compile(r"[^\W_]+")

_FTS = table("releases_fts", column("rowid"), column("releases_fts"))
_SEARCH_VECTOR = literal_column("releases.search_vector", TSVECTOR())


class SearchError(ValueError):
    """A query that cannot be searched for; the message says why, for a 400 answer.

    `reason` names the rule it breaks (`TOO_LONG`, `NOTHING_TO_FIND`, `TOO_MANY_WORDS`),
    so that each surface can say so in its own language."""

    TOO_LONG = "too_long"
    NOTHING_TO_FIND = "nothing_to_find"
    TOO_MANY_WORDS = "too_many_words"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Term:
    """One word, or words that must stand together (a quoted phrase or "E-Bike")."""

    words: tuple[str, ...]
    quoted: bool


@dataclass(frozen=True)
class Alternative:
    """Terms that must all occur, and terms that must not."""

    required: tuple[Term, ...]
    excluded: tuple[Term, ...]


@dataclass(frozen=True)
class Search:
    """A parsed query. `text` is what the user asked, tidied: for titles and links."""

    text: str
    alternatives: tuple[Alternative, ...]


def parse_search(raw: str) -> Search | None:
    """The search a `q` parameter asks for; None when it is blank. Raises SearchError."""
    # NFC: "München" typed with a combining umlaut is still one word.
    text = " ".join(unicodedata.normalize("NFC", strip_xml_forbidden(raw)).split())
    if not text:
        return None
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchError(f"q must be at most {MAX_QUERY_LENGTH} characters long", SearchError.TOO_LONG)
    alternatives: list[Alternative] = []
    required: list[Term] = []
    excluded: list[Term] = []
    for match in _TOKEN_RE.finditer(text):
        bare = match["bare"]
        if bare is not None and bare.lower() == "or" and not match["neg"]:
            alternatives.append(Alternative(tuple(required), tuple(excluded)))
            required, excluded = [], []
            continue
        words = tuple(_WORD_RE.findall(bare if bare is not None else match["phrase"]))
        if words:
            (excluded if match["neg"] else required).append(Term(words, quoted=bare is None))
    alternatives.append(Alternative(tuple(required), tuple(excluded)))
    # "Everything but X" has no index behind it: an alternative needs something to look for.
    usable = tuple(alternative for alternative in alternatives if alternative.required)
    if not usable:
        raise SearchError("q must contain at least one word to search for", SearchError.NOTHING_TO_FIND)
    if sum(len(term.words) for alt in usable for term in alt.required + alt.excluded) > MAX_WORDS:
        raise SearchError(f"q may contain at most {MAX_WORDS} words", SearchError.TOO_MANY_WORDS)
    return Search(text=text, alternatives=usable)


def matching(search: Search, dialect: str) -> ColumnElement[bool]:
    """A condition on `releases`: the row matches the search (on the `dialect`'s index)."""
    if dialect == "postgresql":
        query = func.websearch_to_tsquery(literal_column("'german'::regconfig"), websearch_text(search))
        return _SEARCH_VECTOR.bool_op("@@")(query)
    hits = select(_FTS.c.rowid).where(_FTS.c.releases_fts.match(fts5_query(search)))
    return Release.id.in_(hits)


def websearch_text(search: Search) -> str:
    """The search in `websearch_to_tsquery` syntax, built from words only."""

    def term(item: Term) -> str:
        return " ".join(item.words) if len(item.words) == 1 else '"' + " ".join(item.words) + '"'

    return " or ".join(
        " ".join([*map(term, alt.required), *("-" + term(item) for item in alt.excluded)])
        for alt in search.alternatives
    )


def fts5_query(search: Search) -> str:
    """The search as an FTS5 query: every term a quoted string, so nothing is FTS5 syntax."""

    def term(item: Term) -> str:
        quoted = '"' + " ".join(item.words).replace('"', '""') + '"'
        prefix = not item.quoted and len(item.words[-1]) >= MIN_PREFIX_LENGTH
        return quoted + "*" if prefix else quoted

    def alternative(alt: Alternative) -> str:
        found = "(" + " AND ".join(map(term, alt.required)) + ")"
        if not alt.excluded:
            return found
        return found + " NOT (" + " OR ".join(map(term, alt.excluded)) + ")"

    return " OR ".join(map(alternative, search.alternatives))
