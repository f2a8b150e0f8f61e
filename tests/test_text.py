"""Tests of feedsvc.text: XML-forbidden characters, plain text, HTML sanitising, summaries, slugs."""

from __future__ import annotations

import ast
import json
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc import text
from feedsvc.text import (
    BODY_ATTRIBUTES,
    BODY_TAGS,
    URL_SCHEMES,
    html_has_text,
    html_text,
    plain_text,
    sanitize_html,
    slugify_de,
    strip_xml_forbidden,
    summary_from_html,
)
from tests.feed_text import html_reading

BASE = "https://www.rosenheim.de/presse/2024/"

FORBIDDEN = [
    *(chr(c) for c in range(0x00, 0x09)),
    "\x0b",
    "\x0c",
    *(chr(c) for c in range(0x0E, 0x20)),
    "\ufffe",
    "\uffff",
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
]
ALLOWED_ODD = [
    "\t",
    "\n",
    "\r",
    "\x7f",
    "\x85",
    "\x9f",
    "\ud7ff",
    "\ue000",
    "\ufffd",
    "\U00010000",
    "\U0010ffff",
]
_FORBIDDEN_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Modest: the sanitiser is fast, but the suite runs on every commit. No example database, so
# running the tests writes nothing into the work tree.
PROPERTY = settings(max_examples=200, deadline=None, database=None)


def _no_forbidden(value: str) -> bool:
    return _FORBIDDEN_RE.search(value) is None


# --------------------------------------------------------------------------- module contract


def test_module_imports_only_stdlib_nh3_and_slugify() -> None:
    tree = ast.parse(Path(text.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports into the rest of feedsvc"
            imported.add((node.module or "").split(".")[0])
    third_party = {name for name in imported if name not in sys.stdlib_module_names and name != "__future__"}
    assert third_party == {"nh3", "slugify"}


def test_module_has_a_docstring() -> None:
    assert text.__doc__ is not None
    assert "feed" in text.__doc__


# --------------------------------------------------------------------------- strip_xml_forbidden


@pytest.mark.parametrize("char", FORBIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_forbidden_character_is_removed(char: str) -> None:
    assert strip_xml_forbidden(f"a{char}b{char}") == "ab"
    assert plain_text(f"a{char}b") == "ab"
    assert sanitize_html(f"<p>a{char}b</p>") == "<p>ab</p>"


@pytest.mark.parametrize("char", ALLOWED_ODD, ids=lambda c: f"U+{ord(c):04X}")
def test_legal_characters_are_kept(char: str) -> None:
    assert strip_xml_forbidden(f"a{char}b") == f"a{char}b"


def test_lone_surrogate_from_json_is_removed() -> None:
    decoded = json.loads('"Stadt\\ud800rat"')
    assert strip_xml_forbidden(decoded) == "Stadtrat"
    assert plain_text(decoded) == "Stadtrat"
    assert sanitize_html(decoded) == "Stadtrat"


def test_strip_xml_forbidden_keeps_clean_text_as_is() -> None:
    value = "Brücke über den Inn\n\t€ 😀"
    assert strip_xml_forbidden(value) == value


@pytest.mark.parametrize("reference", ["&#1;", "&#x1F;", "&#xFFFE;", "&#xFFFF;", "&#11;"])
def test_character_references_to_forbidden_characters_are_removed(reference: str) -> None:
    assert sanitize_html(f"<p>a{reference}b</p>") == "<p>ab</p>"
    assert plain_text(f"a{reference}b") == "ab"


# --------------------------------------------------------------------------- plain_text


def test_plain_text_example() -> None:
    assert plain_text("  <b>Brücke</b> &amp; Weg\n\n gesperrt ") == "Brücke & Weg gesperrt"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a < b", "a < b"),
        ("a > b", "a > b"),
        ("x<script>alert(1)</script>y", "xy"),
        ("x<style>p{color:red}</style>y", "xy"),
        ("Wer<!-- intern --> hat", "Wer hat"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("Tom & Jerry", "Tom & Jerry"),
        ("&amp;lt;b&amp;gt;", "&lt;b&gt;"),  # decoded exactly once
        # Decoded before markup is read: "&lt;" means what a typed "<" means.
        ("&lt;b&gt;", ""),
        ("&lt;b&gt;Wichtig&lt;/b&gt; &amp; eilig", "Wichtig & eilig"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;Titel", "Titel"),
        ("a &lt; b", "a < b"),
        ("3&lt;4 &gt; 2", "3<4 > 2"),
        ("Tom &amp;amp; Jerry", "Tom &amp; Jerry"),
        ("a\x85b\x9fc \ufffd d\x7f", "a bc d"),  # controls and U+FFFD are no text
        ("Mün<b>chen</b>", "München"),  # inline markup separates no words
        ("<p>Eins</p><p>Zwei</p>", "Eins Zwei"),  # block markup does
        ("Eins<br>Zwei", "Eins Zwei"),
        ("Eins\r\n\t Zwei\u00a0\u00a0Drei", "Eins Zwei Drei"),
        ("<iframe><b>frame</b></iframe>Text", "Text"),
        ("<textarea><b>x</b></textarea>Text", "Text"),
        ("&auml;&ouml;&uuml;&szlig;", "äöüß"),
        ("", ""),
        ("   \n ", ""),
        ("<p></p>", ""),
    ],
)
def test_plain_text(raw: str, expected: str) -> None:
    assert plain_text(raw) == expected


# --------------------------------------------------------------------------- sanitize_html


@pytest.mark.parametrize(
    "markup",
    [
        "<p>Text</p>",
        "<h2>Titel</h2>",
        "<h3>a</h3><h4>b</h4><h5>c</h5><h6>d</h6>",
        "<ul><li>eins</li><li>zwei</li></ul>",
        "<ol><li>eins</li></ol>",
        '<a href="https://example.org/">Link</a>',
        '<a href="https://example.org/" title="Stadt" hreflang="de">Link</a>',
        "<strong>s</strong><em>e</em><b>b</b><i>i</i><u>u</u>",
        '<img src="https://example.org/a.jpg" alt="Brücke" title="t" width="640" height="480">',
        '<table><caption>c</caption><thead><tr><th scope="col">h</th></tr></thead>'
        '<tbody><tr><td colspan="2" rowspan="1">d</td></tr></tbody>'
        "<tfoot><tr><td>f</td></tr></tfoot></table>",
        "<blockquote><p>Zitat</p></blockquote><q>kurz</q><cite>Quelle</cite>",
        '<figure><img src="https://example.org/a.jpg" alt=""><figcaption>Bild</figcaption></figure>',
        '<p>a<br>b</p><hr><abbr title="Bürgermeister">OB</abbr><sub>1</sub><sup>2</sup><small>k</small>',
        "<div><span>x</span></div><dl><dt>t</dt><dd>d</dd></dl><pre><code>c</code></pre>",
        '<a href="mailto:presse@rosenheim.de">Mail</a> <a href="tel:+49803136">Tel</a>',
    ],
)
def test_allowed_markup_is_kept(markup: str) -> None:
    assert sanitize_html(markup) == markup


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<p>a</p><script>alert(1)</script><p>b</p>", "<p>a</p><p>b</p>"),
        ("<style>p { color: red }</style><p>b</p>", "<p>b</p>"),
        ('<p>a</p><iframe src="https://evil.example/"><p>inside</p></iframe>', "<p>a</p>"),
        ("<object data='x.swf'><p>o</p></object><embed src='x.swf'>e", "e"),
        ("<form action='/x'><input name=q>f</form>k", "k"),
        ("<noscript><p>n</p></noscript>k", "k"),
        ("<svg><text>s</text></svg><math><mi>m</mi></math>k", "k"),
        ('<p onclick="alert(1)" onmouseover="x()">a</p>', "<p>a</p>"),
        ('<p style="color:red" class="x" id="y">a</p>', "<p>a</p>"),
        (
            '<img src="https://example.org/a.jpg" onerror="alert(1)" style="x">',
            '<img src="https://example.org/a.jpg">',
        ),
        ("<h1>Titel</h1><font color=red>f</font><marquee>m</marquee>", "Titelfm"),
        ("<p>a<!-- Kommentar -->b</p>", "<p>ab</p>"),
        (
            '<a href="https://example.org/" target="_blank" rel="nofollow">x</a>',
            '<a href="https://example.org/">x</a>',
        ),
        ("  \n<p>a</p>\n  ", "<p>a</p>"),
    ],
)
def test_forbidden_markup_is_removed(raw: str, expected: str) -> None:
    assert sanitize_html(raw) == expected


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\nscript:alert(1)",
        "java\tscript:alert(1)",
        "&#106;avascript:alert(1)",
        "java&#1;script:alert(1)",  # seen as javascript: once U+0001 is gone, not as a relative path
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "data:image/png;base64,iVBORw0KGgo=",
        "vbscript:msgbox(1)",
        "ftp://example.org/file",
        "file:///etc/passwd",
        "http:no-host",
        "http://[::1",  # urlsplit raises ValueError: must be caught, not leak out of the filter
        "",
    ],
)
def test_unsafe_urls_are_removed(url: str) -> None:
    for base in (None, BASE):
        assert sanitize_html(f'<p><a href="{url}">Link</a></p>', base) == "<p>Link</p>"
        assert sanitize_html(f'<p><img src="{url}" alt="x">Bild</p>', base) == "<p>Bild</p>"


def test_attribute_filter_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    sanitize_html('<a href="http://[::1">x</a><img src="http://[::1">', BASE)
    assert reported == []


def test_relative_urls_are_made_absolute() -> None:
    raw = (
        '<p><a href="/rathaus/">Rathaus</a> <a href="../2023/x.html?a=1&amp;b=2#t">alt</a></p>'
        '<img src="bild.jpg">'
    )
    assert sanitize_html(raw, base_url=BASE) == (
        '<p><a href="https://www.rosenheim.de/rathaus/">Rathaus</a> '
        '<a href="https://www.rosenheim.de/presse/2023/x.html?a=1&amp;b=2#t">alt</a></p>'
        '<img src="https://www.rosenheim.de/presse/2024/bild.jpg">'
    )


def test_protocol_relative_url_takes_the_scheme_of_the_base() -> None:
    assert (
        sanitize_html('<a href="//cdn.example.org/a">x</a>', BASE)
        == '<a href="https://cdn.example.org/a">x</a>'
    )


def test_relative_urls_without_base_are_dropped() -> None:
    raw = (
        '<p><a href="/rathaus/">Rathaus</a></p><img src="bild.jpg" alt="Bild">'
        '<a href="//cdn.example.org/">c</a>'
    )
    assert sanitize_html(raw) == "<p>Rathaus</p>c"


def test_absolute_urls_are_kept_with_a_base() -> None:
    raw = '<a href="http://example.org/x">x</a><a href="mailto:a@b.de">m</a><a href="tel:+49">t</a>'
    assert sanitize_html(raw, BASE) == raw


def test_link_without_href_is_unwrapped_and_image_without_src_removed() -> None:
    assert sanitize_html('<p><a name="top">Anker</a> <img alt="kein Bild"> Text</p>') == "<p>Anker  Text</p>"


@pytest.mark.parametrize(
    "base", ["ftp://example.org/", "/presse/", "example.org", "javascript:alert(1)//", ""]
)
def test_base_url_must_be_absolute_http(base: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        sanitize_html("<p>x</p>", base_url=base)


def test_no_rel_is_added_to_links() -> None:
    assert "rel=" not in sanitize_html('<a href="https://example.org/" rel="noopener">x</a>')


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<p>M&uuml;nchen &auml; &Ouml; &szlig;</p>", "<p>München ä Ö ß</p>"),
        ("<p>a&nbsp;b</p>", "<p>a\u00a0b</p>"),
        ("<p>a\u00a0b</p>", "<p>a\u00a0b</p>"),
        ("<p>&#228; &#xE4; &euro; &copy; &ndash;</p>", "<p>ä ä € © –</p>"),
        ("<p>Tom &amp; Jerry</p>", "<p>Tom &amp; Jerry</p>"),
        ("<p>Tom & Jerry</p>", "<p>Tom &amp; Jerry</p>"),
        ("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
        ("<p>a < b > c</p>", "<p>a &lt; b &gt; c</p>"),
        ("<p>&quot;Zitat&quot; &apos;x&apos;</p>", "<p>\"Zitat\" 'x'</p>"),
        ("<p>&amp;nbsp;</p>", "<p>&amp;nbsp;</p>"),  # typed literally: stays text, not a space
        (
            '<img src="https://e.org/a.jpg" alt="&quot;A&quot; &amp; &auml;&nbsp;">',
            '<img src="https://e.org/a.jpg" alt="&quot;A&quot; &amp; ä\u00a0">',
        ),
        ("<p>&#0;x&#xD800;</p>", "<p>x</p>"),  # not even the HTML parser's replacement character
    ],
)
def test_entities(raw: str, expected: str) -> None:
    assert sanitize_html(raw) == expected


def test_sanitised_release_is_unchanged_by_sanitising_again() -> None:
    raw = (
        '<h1 class="t">Brücke &amp; Weg gesperrt</h1>\n<p style="x">Ab Montag ist die <b>Innbrücke</b>&nbsp;'
        'gesperrt.<script>track()</script> Details: <a href="/verkehr/" onclick="x()">Verkehr</a>, '
        '<a href="javascript:void(0)">Karte</a>.</p><ul><li>eins<li>zwei</ul>'
        '<img src="karte.png" alt="Karte">'
        "<table><tr><td>Mo</td><td>8&ndash;17 Uhr</td></table><!-- intern --><p>Fragen: "
        '<a href="mailto:presse@rosenheim.de">presse@rosenheim.de</a></p>'
    )
    once = sanitize_html(raw, BASE)
    assert sanitize_html(once, BASE) == once
    assert sanitize_html(once) == once
    assert "<script" not in once and "onclick" not in once and "javascript" not in once and "<!--" not in once
    assert '<a href="https://www.rosenheim.de/verkehr/">Verkehr</a>' in once
    assert "Karte</a>" not in once


@pytest.mark.parametrize(
    "raw", ["<li><table><li>", "<p><table><p>x</table>", "<a href='https://e.org/'><table><a>"]
)
def test_markup_that_one_parse_cannot_settle_is_still_idempotent(raw: str) -> None:
    # html5ever can build trees that a second parse restructures (<li> inside <li>).
    once = sanitize_html(raw)
    assert sanitize_html(once) == once


# --------------------------------------------------------------------------- html_has_text


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>Text</p>", True),
        ("x", True),
        ("<p>&amp;</p>", True),
        ("", False),
        ("  \n", False),
        ("<p></p><br><hr>", False),
        ("<p>&nbsp;</p>", False),
        ("<p>\u00a0</p>", False),
        ('<img src="https://e.org/a.jpg" alt="Bild">', False),
        ("<script>text()</script>", False),
        ("<!-- Kommentar -->", False),
    ],
)
def test_html_has_text(markup: str, expected: bool) -> None:
    assert html_has_text(markup) is expected


# --------------------------------------------------------------------------- summary_from_html


def test_summary_short_text_is_not_cut() -> None:
    assert summary_from_html("<p>Kurz &amp; gut.</p>") == "Kurz & gut."
    assert summary_from_html("abcde", limit=5) == "abcde"


def test_summary_collapses_whitespace_and_separates_blocks() -> None:
    html = "<h2>Titel</h2>\n\n<p>Erster   Absatz.</p><ul><li>eins</li><li>zwei</li></ul>Mün<b>chen</b>"
    assert summary_from_html(html) == "Titel Erster Absatz. eins zwei München"


def test_summary_is_cut_at_the_last_word_boundary() -> None:
    text_ = "Die Stadt Rosenheim informiert über Baustellen"
    assert summary_from_html(text_, limit=15) == "Die Stadt…"  # "Die Stadt Rosen" would cut a word
    assert summary_from_html(text_, limit=20) == "Die Stadt Rosenheim…"  # 19 + 1 characters
    assert summary_from_html(text_, limit=19) == "Die Stadt…"  # no room for the ellipsis after "Rosenheim"


def test_summary_drops_trailing_punctuation_before_the_ellipsis() -> None:
    assert summary_from_html("Eins, zwei drei", limit=10) == "Eins…"
    assert summary_from_html("Eins – zwei drei", limit=10) == "Eins…"


def test_summary_cuts_inside_an_overlong_word() -> None:
    assert summary_from_html("Donaudampfschifffahrtsgesellschaft", limit=10) == "Donaudamp…"
    assert summary_from_html("Donaudampfschifffahrtsgesellschaft", limit=1) == "…"


def test_summary_default_limit_is_300() -> None:
    summary = summary_from_html("<p>" + "Wort " * 200 + "</p>")
    assert summary.endswith("Wort…")
    assert len(summary) == 300


def test_summary_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        summary_from_html("x", limit=0)


# --------------------------------------------------------------------------- slugify_de


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("München", "muenchen"),
        ("Bad Aibling", "bad-aibling"),
        ("Soziales & Familie", "soziales-familie"),
        ("Wasserburg a. Inn", "wasserburg-a-inn"),
        ("Straße", "strasse"),
        ("Größe", "groesse"),
        ("ÄRGER ÖL ÜBER", "aerger-oel-ueber"),
        ("GROẞE", "grosse"),
        ("Mu\u0308nchen", "muenchen"),  # decomposed umlaut (macOS input)
        ("„Brücke“ – gesperrt!", "bruecke-gesperrt"),
        ("李伟", "li-wei"),
        ("", ""),
        ("&&&", ""),
        ("🎉", ""),
    ],
)
def test_slugify_de(raw: str, expected: str) -> None:
    assert slugify_de(raw) == expected


def test_slug_is_cut_at_a_word_boundary() -> None:
    assert slugify_de("Bad " * 30) == "-".join(["bad"] * 20)  # 79 characters
    assert slugify_de("Brücke über den Inn gesperrt", max_length=20) == "bruecke-ueber-den"
    assert slugify_de("Brücke über den Inn gesperrt", max_length=17) == "bruecke-ueber-den"
    assert slugify_de("Brücke über den Inn gesperrt", max_length=16) == "bruecke-ueber"


def test_slug_keeps_the_first_words_when_cut() -> None:
    # python-slugify's own word_boundary would keep "b", the only word that fits.
    assert slugify_de("a" * 90 + " b") == "a" * 80
    assert slugify_de("Donaudampfschifffahrt und mehr", max_length=10) == "donaudampf"


def test_slug_max_length_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_length"):
        slugify_de("x", max_length=0)


# --------------------------------------------------------------------------- properties

_ANY_CHAR = st.characters(exclude_categories=())  # surrogates and controls included
_HTML_PIECES = st.sampled_from(
    [
        "<p>", "</p>", "<div>", "</div>", "<h2>", "<h1>", "<br>", "<hr>", "<b>", "</b>", "<i>", "</a>",
        "<ul>", "<li>", "</ul>", "<table>", "<tr>", "<td>", '<td colspan="2">', "</table>", "<caption>",
        "<pre>", "<code>", "<q>", "<blockquote>", "<dl>", "<dt>", "<dd>", "<figure>", "<figcaption>",
        '<a href="', '<a href="/rel">', '<a href="https://e.org/?a=1&b=2">', '<a href="mailto:a@b.de">',
        '<a href="//cdn.example.org/">', "javascript:", "data:", '<img src="', '<img src="x.png" alt="',
        '<img src="https://e.org/a.jpg" onerror="', '<p onclick="x()" style="y">', "<script>", "</script>",
        "<style>", "<iframe>", "<svg>", "<math>", "<form>", "<textarea>", "<noscript>", "<select>",
        "<option>", "<template>", "<xmp>", "<plaintext>", "<object>", "<!--", "-->", "<!DOCTYPE html>",
        "<?xml ?>", "<![CDATA[", "]]>", '"', "'", "<", ">", "/", "=", "&", "&amp;", "&nbsp;", "&auml;",
        "&#1;", "&#xFFFF;", "&#0;", "&lt;", "&quot;", " ", "\n", "\r", "\t", "ä", "\u00a0", "\x00",
        "\x0b", "\ud800", "\ufffe", "Text", "Wort ",
    ]
)  # fmt: skip
_HTML_LIKE = st.lists(st.one_of(_HTML_PIECES, st.text(_ANY_CHAR, max_size=5)), max_size=40).map("".join)
_INPUT = st.one_of(st.text(_ANY_CHAR), _HTML_LIKE)
_VOID = frozenset({"br", "hr", "img"})


class _FragmentChecker(HTMLParser):
    """Parses sanitiser output and records everything that breaks the allow-list or nesting."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in BODY_TAGS and tag != "root":
            self.problems.append(f"tag {tag}")
        for name, value in attrs:
            if name not in BODY_ATTRIBUTES.get(tag, frozenset()):
                self.problems.append(f"attribute {tag} {name}")
            elif (tag, name) in {("a", "href"), ("img", "src")}:
                parts = urlsplit(value or "")
                if parts.scheme not in URL_SCHEMES or (parts.scheme.startswith("http") and not parts.netloc):
                    self.problems.append(f"url {value!r}")
        if tag not in _VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing {tag}")

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"comment {data!r}")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"declaration {decl!r}")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"declaration {data!r}")

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"processing instruction {data!r}")


def _fragment_problems(fragment: str) -> list[str]:
    checker = _FragmentChecker()
    checker.feed(f"<root>{fragment}</root>")  # wrapped, as a writer embeds it
    checker.close()
    if checker.open:
        checker.problems.append(f"unclosed {checker.open}")
    return checker.problems


def _xml_text_round_trip(value: str) -> str | None:
    """`value` escaped into an XML element and parsed back (None if XML refuses it)."""
    element = ET.fromstring(f"<t>{xml_escape(value)}</t>")
    return element.text


@PROPERTY
@given(_INPUT)
def test_strip_xml_forbidden_leaves_nothing_forbidden(value: str) -> None:
    cleaned = strip_xml_forbidden(value)
    assert _no_forbidden(cleaned)
    assert cleaned == "".join(ch for ch in value if _no_forbidden(ch))


@PROPERTY
@given(_INPUT)
def test_plain_text_is_xml_safe_collapsed_text(value: str) -> None:
    cleaned = plain_text(value)
    assert _no_forbidden(cleaned)
    assert cleaned == " ".join(cleaned.split())
    assert (_xml_text_round_trip(cleaned) or "") == cleaned


@PROPERTY
@given(_INPUT, st.sampled_from([None, BASE]))
def test_sanitize_html_output_is_a_safe_fragment(value: str, base: str | None) -> None:
    cleaned = sanitize_html(value, base)
    assert _no_forbidden(cleaned)
    assert _fragment_problems(cleaned) == []
    assert (_xml_text_round_trip(cleaned) or "") == cleaned.replace("\r\n", "\n").replace("\r", "\n")
    assert sanitize_html(cleaned, base) == cleaned


@PROPERTY
@given(_INPUT, st.integers(min_value=1, max_value=400))
def test_summary_fits_the_limit(value: str, limit: int) -> None:
    summary = summary_from_html(value, limit)
    full = summary_from_html(value, 10**9)
    assert len(summary) <= limit
    assert _no_forbidden(summary)
    if summary != full:
        assert summary.endswith("…")
        assert full.startswith(summary[:-1])


@PROPERTY
@given(st.text(_ANY_CHAR), st.integers(min_value=1, max_value=100))
def test_slug_shape(value: str, max_length: int) -> None:
    slug = slugify_de(value, max_length=max_length)
    assert len(slug) <= max_length
    assert slug == "" or re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug)


_ESCAPED_MARKUP = st.lists(
    st.sampled_from(["&lt;", "&gt;", "&amp;", "<", ">", "&", "b", "script", "/", " ", "!--", "x=1", "&#60;"]),
    max_size=20,
).map("".join)


@PROPERTY
@given(st.one_of(_INPUT, _ESCAPED_MARKUP))
def test_plain_text_leaves_no_markup_entities_decoded_first(value: str) -> None:
    """Whatever was typed, escaped or not, the stored text holds no tag or comment a reader
    taking it for HTML could run: "&lt;b&gt;" is removed like "<b>"."""
    cleaned = plain_text(value)
    assert html_reading(cleaned)[1] == [], cleaned
    assert not re.search("[\x7f-\x9f\ufffd]", cleaned)


def test_plain_text_reads_markup_left_around_removed_tags_again() -> None:
    # One reading leaves "<x>" and "<script>alert(1)": tags again, so they go too.
    assert plain_text("a <<b>x> c") == "a c"
    assert plain_text("&lt;&lt;b&gt;script&gt;alert(1)&lt;/script&gt;") == ""


def test_html_text_reads_a_body_as_it_stands() -> None:
    assert html_text("<p>&lt;b&gt; &amp;amp; a&nbsp;b</p><p>c</p>") == "<b> &amp; a b c"
