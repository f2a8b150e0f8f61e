"""Text cleaning: turn what press offices type or paste into text that is safe to publish in feeds.

Every string that ends up in a feed passes through here first:

* `strip_xml_forbidden` removes code points that XML 1.0 cannot carry (a single one makes an
  Atom or RSS document unparseable for every reader);
* `plain_text` is for plain-text fields (title, summary, caption, credit, author, contact
  name): entities decoded first, then markup removed and whitespace collapsed, so "&lt;b&gt;"
  is removed like "<b>". The result is *text*, not HTML: the feed writers escape it;
* `sanitize_html` is for the release body: an allow-list of tags and attributes, safe URL
  schemes only, relative URLs made absolute. The result is an HTML fragment;
* `clean_body` is what a release body is stored as: its structure made plain (plain text's
  blank lines become paragraphs, an editor's `<div>` and `<br><br>` too, `<h1>` a `<h2>`),
  then `sanitize_html`, which stays the one gate of what is stored;
* `html_text`, `html_has_text` and `summary_from_html` read the text of such a fragment;
* `slugify_de` makes URL slugs with German transliteration (ä → ae, ß → ss).

HTML parsing and sanitising is done by nh3, the Python binding of the Rust `ammonia`
sanitiser (html5ever parses exactly like a browser). Behaviours of nh3 this module relies on
or works around, each covered by tests/test_text.py:

* nh3 raises UnicodeEncodeError on lone surrogates, so input is stripped of XML-forbidden
  characters *before* nh3 sees it;
* character references are decoded by the parser and the serializer writes real characters,
  except that U+00A0 comes out as ``&nbsp;`` (replaced here by the character, because
  ``&nbsp;`` is not an XML entity) and ``& < >`` (text) / ``& "`` (attributes) stay escaped;
* references such as ``&#1;`` or ``&#xFFFF;`` decode to XML-forbidden characters (and
  ``&#0;`` to U+FFFD), so the output is stripped again;
* elements not in ``tags`` are unwrapped and their text kept, except for those in
  ``clean_content_tags``; the text inside iframe, noscript, textarea, xmp, plaintext, ...
  would otherwise come out as escaped markup (``&lt;b&gt;``), so they are all dropped with
  their content;
* ``attribute_filter`` runs *after* ammonia's own URL-scheme check, so whatever it returns is
  not checked again: the filter here checks the scheme of the URL it returns itself. If the
  filter raised, nh3 would drop the attribute and report through ``sys.unraisablehook``; it
  does not raise;
* one nh3 pass is not always a fixed point (html5ever can build trees that a second parse
  restructures), so `sanitize_html` repeats passes until its output is stable.

This module must not import Flask, SQLAlchemy or feedgen; it depends on nh3, python-slugify
and the standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html import escape, unescape
from html.parser import HTMLParser
from typing import Final
from urllib.parse import urljoin, urlsplit

import nh3
from slugify import slugify

__all__ = [
    "BODY_ATTRIBUTES",
    "BODY_TAGS",
    "EMAIL_PATTERN",
    "PHONE_PATTERN",
    "URL_SCHEMES",
    "clean_body",
    "html_has_text",
    "html_text",
    "plain_text",
    "sanitize_html",
    "slugify_de",
    "strip_xml_forbidden",
    "summary_from_html",
]

# XML 1.0 `Char` excludes the C0 controls except TAB, LF and CR, the surrogate block (which a
# Python str can still hold, e.g. from json.loads('"\\ud800"')) and U+FFFE/U+FFFF.
# U+007F..U+009F and the noncharacters outside the BMP are legal and kept.
_XML_FORBIDDEN_RE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

BODY_TAGS: Final = frozenset(
    {
        "p", "br", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "a", "strong", "em", "b", "i",
        "u", "blockquote", "q", "cite", "figure", "figcaption", "img", "table", "thead", "tbody",
        "tfoot", "tr", "th", "td", "caption", "hr", "abbr", "sub", "sup", "small", "span", "div",
        "dl", "dt", "dd", "pre", "code",
    }
)  # fmt: skip
"""Elements kept in a release body. Everything else is unwrapped (its text kept) or dropped."""

BODY_ATTRIBUTES: Final[dict[str, frozenset[str]]] = {
    "a": frozenset({"href", "title", "hreflang"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "td": frozenset({"colspan", "rowspan", "scope"}),
    "abbr": frozenset({"title"}),
}
"""Attributes kept per element; no element keeps class, style, id or on* handlers."""

URL_SCHEMES: Final = frozenset({"http", "https", "mailto", "tel"})
"""The only URL schemes a link or image of a release body may use."""

EMAIL_PATTERN: Final = r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$"
"""What passes for an e-mail address: a press contact's, the site's contact."""

PHONE_PATTERN: Final = r"^[0-9+()/ .-]+$"
"""What passes for a phone number: digits, spaces and + ( ) / . - as people write them."""

# Dropped together with everything inside them. Besides script and style (whose content is
# code) these are elements whose content html5ever parses as raw text (iframe, noscript,
# textarea, xmp, plaintext, noembed, noframes, title), so unwrapping them would publish their
# markup as visible escaped text, plus embedded objects, forms and foreign (SVG/MathML) content.
_DROP_WITH_CONTENT: Final = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "param",
        "form", "input", "button", "select", "option", "optgroup", "textarea", "datalist",
        "output", "noscript", "noembed", "noframes", "template", "title", "xmp", "plaintext",
        "svg", "math", "canvas", "audio", "video", "source", "track", "map", "head", "meta",
        "link", "base", "dialog", "portal",
    }
)  # fmt: skip

# Elements that separate words when a fragment is read as plain text ("<p>a</p><p>b</p>" is
# "a b", not "ab"); inline elements ("Mün<b>chen</b>") separate nothing.
_WORD_BREAK_TAGS: Final = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div", "dl",
        "dt", "fieldset", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip

_URL_ATTRIBUTES: Final = frozenset({("a", "href"), ("img", "src")})

# A start or end tag as html5ever serializes it: attribute values are always double-quoted and
# never contain '"' (escaped as &quot;), and text never contains a raw '<' (escaped as &lt;).
_SERIALIZED_TAG_RE: Final = re.compile(
    r'<(?P<end>/?)(?P<name>[a-zA-Z][a-zA-Z0-9]*)(?P<attrs>(?:\s+[^\s"\'<>/=]+(?:="[^"]*")?)*)\s*/?>'
)
_ANY_TAG_RE: Final = re.compile(r"<[^>]*>")
# Not text: the controls XML 1.0 allows (DEL and the C1 range, which feed readers map to
# cp1252 and validators flag) and U+FFFD, the mark of bytes decoded with the wrong encoding
# (also what the HTML parser makes of "&#0;").
_NOT_TEXT_RE: Final = re.compile("[\x7f-\x9f\ufffd]")
_URL_WHITESPACE: Final = "\t\n\r "
_URL_TAB_OR_NEWLINE_RE: Final = re.compile(r"[\t\n\r]")
_HTML_WHITESPACE: Final = " \t\n\r\f"
_ELLIPSIS: Final = "…"
_MAX_PASSES: Final = 4

# How deeply elements may nest in a body. html5ever's tree building costs time in proportion
# to the depth for every element, so a body of nested elements cost quadratic time (97 KB of
# nested <div> took 10 s); real releases nest a dozen levels at most.
MAX_HTML_DEPTH: Final = 100
# A tag ends at ">" or where the next one begins: no match ever scans past the next "<", so
# the pass stays linear even on "<a<a<a…".
_TAG = re.compile(r"<!--.*?(?:-->|\Z)|<(/?)([A-Za-z][^\t\n\f\r /<>]*)[^<>]*>?", re.DOTALL)
_VOID: Final = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "basefont",
        "bgsound",
        "frame",
        "keygen",
    ]
)
# Raw text: what follows up to the end tag is no markup at all.
_RAW_TEXT: Final = frozenset(
    ["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"]
)
# End tags a browser adds itself when the same element opens again (a new <p> ends the last).
_OPTIONAL_END: Final = frozenset(
    [
        "p",
        "li",
        "dt",
        "dd",
        "option",
        "optgroup",
        "tr",
        "td",
        "th",
        "thead",
        "tbody",
        "tfoot",
        "rb",
        "rt",
        "rp",
        "rtc",
    ]
)
_SCOPE_BOUNDARY: Final = frozenset(
    ["ul", "ol", "dl", "table", "select", "div", "blockquote", "section", "article"]
)


class HtmlTooDeep(ValueError):
    """A body whose elements nest deeper than `MAX_HTML_DEPTH`."""


def html_depth_exceeds(html: str, limit: int = MAX_HTML_DEPTH) -> bool:
    """Whether elements in `html` nest deeper than `limit`, in one linear pass.

    A tokenizer, not a parser: it keeps a stack of open elements, pops end tags back to their
    element, leaves out void elements, comments and raw text, and closes an element with an
    optional end tag when the same one opens again, as a browser does. It errs towards deeper
    (markup inside attribute values counts): a false alarm needs markup no editor writes.
    The stack never grows past `limit`, so every step costs at most `limit`.
    """
    stack: list[str] = []
    position = 0
    while True:
        match = _TAG.search(html, position)
        if match is None:
            return False
        position = match.end()
        closing, name = match.group(1), match.group(2)
        if name is None:
            continue  # a comment
        name = name.lower()
        if closing:
            for index in range(len(stack) - 1, -1, -1):
                if stack[index] == name:
                    del stack[index:]
                    break
            continue
        if name in _VOID or (match.group(0).endswith("/>") and name not in BODY_TAGS):
            continue
        if name in _RAW_TEXT:
            end = _find_end(html, name, position)
            position = len(html) if end < 0 else end
            continue
        if name in _OPTIONAL_END:
            for index in range(len(stack) - 1, -1, -1):
                if stack[index] == name:
                    del stack[index:]
                    break
                if stack[index] in _SCOPE_BOUNDARY:
                    break
        stack.append(name)
        if len(stack) > limit:
            return True


def _find_end(html: str, name: str, position: int) -> int:
    match = re.compile(rf"</{re.escape(name)}", re.IGNORECASE).search(html, position)
    return -1 if match is None else match.start()


_SUMMARY_TRAILING_PUNCTUATION: Final = " ,;:-–—"

_GERMAN_REPLACEMENTS: Final = (
    ("ä", "ae"),
    ("ö", "oe"),
    ("ü", "ue"),
    ("Ä", "Ae"),
    ("Ö", "Oe"),
    ("Ü", "Ue"),
    ("ß", "ss"),
    ("ẞ", "SS"),
    ("&", ""),
)


def strip_xml_forbidden(text: str) -> str:
    """Remove every character XML 1.0 forbids.

    That is U+0000–U+0008, U+000B, U+000C, U+000E–U+001F, U+FFFE, U+FFFF and lone surrogates
    (U+D800–U+DFFF). TAB, LF, CR and the legal controls U+007F–U+009F are kept.
    """
    return _XML_FORBIDDEN_RE.sub("", text)


def _fragment_text(markup: str) -> str:
    """The text of an HTML fragment, whitespace collapsed to single spaces and trimmed.

    Tags and comments are removed, script/style (and the other `_DROP_WITH_CONTENT`
    elements) vanish with their content, block elements and <br> separate words, and
    character references are decoded exactly once. Controls and U+FFFD (`_NOT_TEXT_RE`)
    are removed.
    """
    cleaned = nh3.clean(
        strip_xml_forbidden(markup),
        tags=_WORD_BREAK_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes={},
        link_rel=None,
    )
    # Only attribute-less word-break tags are left, so "<...>" cannot cut through a value; every
    # "&" of the text is escaped as "&amp;", so unescape decodes nothing the user typed twice.
    text = unescape(_ANY_TAG_RE.sub(" ", cleaned))
    words = (_NOT_TEXT_RE.sub("", word) for word in strip_xml_forbidden(text).split())
    return " ".join(word for word in words if word)


def plain_text(text: str) -> str:
    """Clean a plain-text field (title, summary, caption, credit, author, contact name).

    Character references are decoded first, once: "&lt;" means what a typed "<" means, so
    "&lt;b&gt;Wichtig&lt;/b&gt;" is "Wichtig" and "Tom &amp;amp; Jerry" is "Tom &amp; Jerry".
    Then the text is read as HTML: markup (tags, comments) is removed keeping its text, script
    and style content vanishes, runs of whitespace (newlines and non-breaking spaces included)
    become one space, and the ends are trimmed. A "<" that does not start a tag is text:
    "a < b" and "a &lt; b" stay "a < b", but "a <b" loses "<b" as a tag would. XML-forbidden
    characters, the other controls (U+007F–U+009F) and U+FFFD, the mark of text decoded with
    the wrong encoding, are removed.

    The result is plain text with no markup left to strip: it is stored as it is, and it must
    be escaped by whoever writes it into markup (`feedsvc.formats` does, for each element).
    """
    # Every "&" is escaped again before the text is read as HTML, so nothing is decoded twice.
    cleaned = _fragment_text(unescape(strip_xml_forbidden(text)).replace("&", "&amp;"))
    # Reading can leave a tag of text around removed ones ("<<b>x>" leaves "<x>"): read again
    # until nothing changes, so the result holds no markup at all. Each pass that changes
    # something removes characters, so this ends; real text needs one pass.
    while (again := _fragment_text(cleaned.replace("&", "&amp;"))) != cleaned:
        cleaned = again
    return cleaned


def html_text(html: str) -> str:
    """The text of an HTML fragment (a sanitised body), whitespace collapsed and trimmed.

    Unlike `plain_text` the input is HTML as it stands: "&lt;b&gt;" is the text "<b>".
    """
    return _fragment_text(html)


def _check_base_url(base_url: str) -> None:
    parts = urlsplit(base_url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")


def _safe_url(value: str, base_url: str | None) -> str | None:
    """`value` made absolute against `base_url`, or None if it is not an allowed URL.

    Leading/trailing whitespace and inner tabs/newlines are removed first, as browsers do, so
    that "java\\nscript:" is seen as the scheme it is. A relative URL without a base is dropped:
    a feed reader has nothing reliable to resolve it against.
    """
    url = _URL_TAB_OR_NEWLINE_RE.sub("", value.strip(_URL_WHITESPACE))
    if not url:
        return None
    try:
        if base_url is not None:
            url = urljoin(base_url, url)
        parts = urlsplit(url)
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 literal)
        return None
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES:
        return None
    if scheme in {"http", "https"} and not parts.netloc:
        return None
    return url


def _attribute_filter(base_url: str | None) -> Callable[[str, str, str], str | None]:
    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        # Must never raise: nh3 would drop the attribute and report via sys.unraisablehook.
        value = strip_xml_forbidden(value)
        if (tag, attribute) in _URL_ATTRIBUTES:
            return _safe_url(value, base_url)
        return value

    return attribute_filter


def _has_attribute(attrs: str, name: str) -> bool:
    return re.search(rf'\s{name}="', attrs) is not None


def _drop_dead_links_and_images(fragment: str) -> str:
    """Unwrap <a> without href (keeping its text) and remove <img> without src.

    `fragment` must be nh3 output: it is scanned token by token (text has no raw "<", tags
    match `_SERIALIZED_TAG_RE` as a whole, values included), and its tags are balanced.
    """
    if "<a" not in fragment and "<img" not in fragment:
        return fragment
    out: list[str] = []
    kept_links: list[bool] = []
    pos = 0
    while pos < len(fragment):
        lt = fragment.find("<", pos)
        if lt == -1:
            out.append(fragment[pos:])
            break
        out.append(fragment[pos:lt])
        match = _SERIALIZED_TAG_RE.match(fragment, lt)
        if match is None:  # not expected from nh3; keep the text safe anyway
            out.append("&lt;")
            pos = lt + 1
            continue
        pos = match.end()
        name = match["name"].lower()
        keep = True
        if name == "a":
            if match["end"]:
                keep = kept_links.pop() if kept_links else True
            else:
                keep = _has_attribute(match["attrs"], "href")
                kept_links.append(keep)
        elif name == "img":
            keep = _has_attribute(match["attrs"], "src")
        if keep:
            out.append(match[0])
    return "".join(out)


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Sanitise the HTML body of a release; the result is a trimmed HTML fragment.

    Only `BODY_TAGS` with their `BODY_ATTRIBUTES` are kept; other elements are unwrapped, and
    script, style, iframe, object, embed, form, svg, ... are dropped with their content.
    Comments are removed. Links and images may only use `URL_SCHEMES`; relative URLs are made
    absolute against `base_url` (which must then be an absolute http(s) URL, else ValueError).
    A link whose URL is missing, not allowed or relative without a base is unwrapped (its text
    kept); such an image is removed.

    Character references are decoded to characters (``&auml;`` → "ä", ``&nbsp;`` → U+00A0);
    only ``&amp; &lt; &gt;`` in text and ``&amp; &quot;`` in attribute values stay escaped.
    Controls (U+007F–U+009F) and U+FFFD are removed, as from plain text.
    Sanitising the result again returns it unchanged.

    No ``rel`` is added to links (nh3 ``link_rel=None``): the body is published in feeds whose
    readers apply their own link policy; ``target`` is never kept, so ``noopener`` would have
    nothing to guard; and the linked sites (mostly other public offices) may see the referrer.

    The result can be empty or hold markup without text: see `html_has_text`. A body nested
    deeper than `MAX_HTML_DEPTH` raises HtmlTooDeep (a ValueError), which keeps the cost of
    sanitising linear in the body's length.
    """
    if base_url is not None:
        _check_base_url(base_url)
    if html_depth_exceeds(html):
        raise HtmlTooDeep(f"elements may nest at most {MAX_HTML_DEPTH} levels deep")
    # One pass is not always a fixed point: html5ever can build a tree that does not survive
    # serializing and parsing again ("<li><table><li>" gives an <li> inside an <li>, which a
    # second parse splits into siblings). Passes are repeated until the output is stable, so
    # that a stored body sanitises to itself; clean input costs one pass, typical input two.
    cleaned = strip_xml_forbidden(html)
    for _ in range(_MAX_PASSES):
        again = _sanitize_once(cleaned, base_url)
        if again == cleaned:
            break
        cleaned = again
    return cleaned


def _sanitize_once(html: str, base_url: str | None, tags: frozenset[str] = BODY_TAGS) -> str:
    cleaned = nh3.clean(
        html,
        tags=tags,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=BODY_ATTRIBUTES,
        attribute_filter=_attribute_filter(base_url),
        strip_comments=True,
        link_rel=None,
        url_schemes=URL_SCHEMES,
    )
    cleaned = _drop_dead_links_and_images(cleaned)
    # "&nbsp;" is how the serializer writes U+00A0; a literal "&nbsp;" typed by the user is
    # "&amp;nbsp;" by now, so this cannot decode text twice.
    cleaned = cleaned.replace("&nbsp;", "\u00a0")
    # Character references such as &#1; or &#xFFFF; decode to XML-forbidden characters, and
    # "&#0;" to U+FFFD; controls and U+FFFD are no text a reader could show.
    return _NOT_TEXT_RE.sub("", strip_xml_forbidden(cleaned)).strip(_HTML_WHITESPACE)


def html_has_text(html: str) -> bool:
    """Whether an HTML fragment has any visible text (other than whitespace).

    Markup alone ("<p>&nbsp;</p>", "<br>", an image) has none.
    """
    return _fragment_text(html) != ""


def summary_from_html(html: str, limit: int = 300) -> str:
    """The plain text of an HTML fragment, at most `limit` characters long.

    Whitespace is collapsed and block elements separate words. Text longer than `limit` is cut
    at the last word boundary that leaves room for the "…" appended to it (trailing ",;:" and
    dashes are dropped before it); a single word longer than that is cut inside the word.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    text = _fragment_text(html)
    if len(text) <= limit:
        return text
    # The space at index `cut` ends the last whole word that leaves room for the ellipsis.
    cut = text.rfind(" ", 0, limit)
    head = text[:cut].rstrip(_SUMMARY_TRAILING_PUNCTUATION) if cut > 0 else ""
    if not head:
        head = text[: limit - 1].rstrip()
    return head + _ELLIPSIS


def slugify_de(text: str, max_length: int = 80) -> str:
    """A lowercase ASCII slug with German transliteration.

    "München" → "muenchen", "Soziales & Familie" → "soziales-familie", "Straße" → "strasse".
    Other scripts are transliterated by python-slugify ("李伟" → "li-wei"). The text is first
    NFC-normalised, so a decomposed "u" + U+0308 also gives "ue".

    A slug longer than `max_length` is cut at the last "-" that fits (a single word longer than
    that is cut inside the word). The slug is "" when nothing transliterates (e.g. "&&&" or
    emoji only): the caller must choose a fallback.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")
    slug = slugify(unicodedata.normalize("NFC", text), replacements=_GERMAN_REPLACEMENTS)
    if len(slug) <= max_length:
        return slug
    # Cut here rather than with slugify(max_length=..., word_boundary=True): that keeps words
    # that fit from anywhere in the text, so "<90 letters> b" became "b".
    cut = slug.rfind("-", 0, max_length + 1)
    return slug[:cut] if cut > 0 else slug[:max_length].rstrip("-")


# --- a body's structure -----------------------------------------------------------------------------

# Elements that give a body a structure of its own. A body without any is plain text (typed into
# the form, pasted from an e-mail, sent by an API client), whose blank lines separate paragraphs.
_BLOCK_TAGS: Final = frozenset(
    {
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "table",
        "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "figure", "figcaption", "hr", "dl",
        "dt", "dd", "pre",
    }
)  # fmt: skip
# The structure is read from the elements a body may keep and from <h1>, which editors (Trix,
# word processors) write for a heading; a release page's <h1> is its title, so it becomes <h2>.
_STRUCTURE_TAGS: Final = BODY_TAGS | {"h1"}
_VOID_BODY_TAGS: Final = frozenset({"br", "hr", "img"})
# In plain text: a blank line (lines of white space only count as blank), and a single newline
# with the spaces around it.
_BLANK_LINE_RE: Final = re.compile(r"[^\S\n]*\n(?:[^\S\n]*\n)+[^\S\n]*")
_NEWLINE_RE: Final = re.compile(r"[^\S\n]*\n[^\S\n]*")
# Line breaks in a row that end a paragraph: how Trix (and many mail programs) write one.
_BREAKS_PER_PARAGRAPH: Final = 2


@dataclass(eq=False)
class _Element:
    tag: str
    attrs: Sequence[tuple[str, str]] = ()
    children: list[_Element | str] = field(default_factory=list)
    # Whether a block element is among its descendants.
    holds_block: bool = False


@dataclass(frozen=True)
class _Piece:
    """A piece of a run of inline content: text or a void element (<br>, <img>), with the
    inline elements it is in, outermost first."""

    node: _Element | str
    within: tuple[_Element, ...]


class _FragmentParser(HTMLParser):
    """nh3's output as a tree. That output is balanced (void elements aside) and escapes every
    "<" and "&" of its text, so the standard library's tolerant parser reads it exactly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("")
        self._open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = _Element(tag, [(name, value or "") for name, value in attrs])
        self._open[-1].children.append(element)
        if tag in _BLOCK_TAGS:
            for ancestor in self._open:
                ancestor.holds_block = True
        if tag not in _VOID_BODY_TAGS:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, 0, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


def clean_body(html: str, base_url: str | None = None) -> str:
    """A release body as it is stored: its structure made plain, then `sanitize_html`.

    One rule for every way a body comes in (the API, the publish form and its editor, imports):

    * plain text (no block element at all) becomes paragraphs: a blank line starts a new `<p>`,
      a single newline is a `<br>`;
    * a run of inline content among blocks, and a `<div>` (what Trix writes for a paragraph),
      becomes paragraphs too, a blank line or two or more `<br>` in a row ending one; the
      `<div>` itself goes, and so does a paragraph with no text (a word processor's spacer,
      `<p>&nbsp;</p>`);
    * `<span>`, which keeps no attribute, is unwrapped;
    * `<h1>` becomes `<h2>` (the page's `<h1>` is the release's title); a `<blockquote>` holds
      paragraphs; lists, tables, headings, `<pre>` and paragraphs written as `<p>` stay as
      they are.

    The structure is read from a first sanitising pass, and what is stored is what
    `sanitize_html`, the one gate, makes of the result; so `clean_body` raises as it does
    (HtmlTooDeep, a bad `base_url`), and cleaning its result again changes nothing.
    """
    if base_url is not None:
        _check_base_url(base_url)
    if html_depth_exceeds(html):
        raise HtmlTooDeep(f"elements may nest at most {MAX_HTML_DEPTH} levels deep")
    parser = _FragmentParser()
    parser.feed(_sanitize_once(strip_xml_forbidden(html), base_url, _STRUCTURE_TAGS))
    parser.close()
    root = parser.root
    return sanitize_html(_serialize(_flow(root.children, plain=not root.holds_block)), base_url)


def _flow(nodes: Iterable[_Element | str], *, plain: bool = False) -> list[_Element | str]:
    """Content that is read as a flow of blocks: runs of inline content become paragraphs."""
    out: list[_Element | str] = []
    run: list[_Element | str] = []
    for node in nodes:
        if isinstance(node, str) or not (node.tag in _BLOCK_TAGS or node.holds_block):
            run.append(node)
            continue
        out += _paragraphs(run, plain=plain)
        run = []
        out += _block(node)
    return out + _paragraphs(run, plain=plain)


def _block(element: _Element) -> list[_Element | str]:
    """A block element (or an inline one that holds blocks) as it is stored."""
    if element.tag == "div" or element.tag not in _BLOCK_TAGS:
        return _flow(element.children)  # unwrapped: it means nothing once sanitised
    if element.tag == "blockquote":
        quoted = _flow(element.children)
        return [_Element("blockquote", element.attrs, quoted)] if quoted else []
    if element.tag in ("pre", "hr"):
        return [element]
    if element.tag == "p" or element.tag.startswith("h"):
        tag = "h2" if element.tag == "h1" else element.tag
        return [_Element(tag, element.attrs, element.children)] if _has_content(element) else []
    # Lists, tables, figures and their parts keep their inline content; a <div> or <h1>
    # inside them is made plain as anywhere else.
    children: list[_Element | str] = []
    for child in element.children:
        if isinstance(child, _Element) and (child.tag in _BLOCK_TAGS or child.holds_block):
            children += _block(child)
        else:
            children.append(child)
    return [_Element(element.tag, element.attrs, children)]


def _paragraphs(run: Sequence[_Element | str], *, plain: bool) -> list[_Element | str]:
    """A run of inline content as paragraphs, split at blank lines and at two or more line
    breaks in a row; inline elements split with it continue in the next paragraph."""
    paragraphs: list[_Element | str] = []
    current: list[_Piece] = []
    breaks: list[_Piece] = []  # line breaks seen since the last content, and the spaces between
    count = 0

    def end_paragraph() -> None:
        nonlocal current
        paragraph = _paragraph(current)
        if paragraph is not None:
            paragraphs.append(paragraph)
        current = []

    for piece in _pieces(run, (), plain=plain):
        if piece is None:
            end_paragraph()
            breaks, count = [], 0
        elif isinstance(piece.node, _Element) and piece.node.tag == "br":
            breaks.append(piece)
            count += 1
        elif breaks and isinstance(piece.node, str) and not piece.node.strip():
            breaks.append(piece)
        else:
            if count >= _BREAKS_PER_PARAGRAPH:
                end_paragraph()
            else:
                current += breaks
            breaks, count = [], 0
            current.append(piece)
    end_paragraph()
    return paragraphs


def _pieces(
    nodes: Iterable[_Element | str], within: tuple[_Element, ...], *, plain: bool
) -> Iterable[_Piece | None]:
    """The pieces of inline content, None where a blank line ends a paragraph. A single newline
    is a line break in plain text only: in HTML it is the source's own line wrap."""
    for node in nodes:
        if isinstance(node, _Element):
            if node.tag in _VOID_BODY_TAGS:
                yield _Piece(node, within)
            else:
                yield from _pieces(node.children, (*within, node), plain=plain)
            continue
        for index, part in enumerate(_BLANK_LINE_RE.split(node)):
            if index:
                yield None
            if not plain:
                if part:
                    yield _Piece(part, within)
                continue
            for line_index, line in enumerate(_NEWLINE_RE.split(part)):
                if line_index:
                    yield _Piece(_Element("br"), within)
                if line:
                    yield _Piece(line, within)


def _paragraph(pieces: list[_Piece]) -> _Element | None:
    """A `<p>` of these pieces without the white space and line breaks at either end, with
    their inline elements around them again; None when no text (nor an image) is left."""
    start, end = 0, len(pieces)
    while start < end and _is_blank(pieces[start]):
        start += 1
    while end > start and _is_blank(pieces[end - 1]):
        end -= 1
    kept = list(pieces[start:end])
    if not kept:
        return None
    if isinstance(kept[0].node, str):
        kept[0] = _Piece(kept[0].node.lstrip(), kept[0].within)
    if isinstance(kept[-1].node, str):
        kept[-1] = _Piece(kept[-1].node.rstrip(), kept[-1].within)
    paragraph = _Element("p")
    path: list[tuple[_Element, _Element]] = []  # (an element of the run, its copy here)
    for piece in kept:
        shared = 0
        while shared < min(len(path), len(piece.within)) and path[shared][0] is piece.within[shared]:
            shared += 1
        del path[shared:]
        parent = path[-1][1] if path else paragraph
        for element in piece.within[shared:]:
            copy = _Element(element.tag, element.attrs)
            parent.children.append(copy)
            path.append((element, copy))
            parent = copy
        parent.children.append(piece.node)
    return paragraph


def _is_blank(piece: _Piece) -> bool:
    if isinstance(piece.node, str):
        return not piece.node.strip()
    return piece.node.tag == "br"


def _has_content(element: _Element) -> bool:
    """Whether any text (not just white space, no-break spaces included) or an image is in it."""
    return any(
        (child.strip() != "") if isinstance(child, str) else (child.tag == "img" or _has_content(child))
        for child in element.children
    )


def _serialize(nodes: Iterable[_Element | str]) -> str:
    out: list[str] = []

    def write(node: _Element | str) -> None:
        if isinstance(node, str):
            out.append(escape(node, quote=False))
            return
        if node.tag == "span":  # no attribute is kept on it: it means nothing (Word's are many)
            for child in node.children:
                write(child)
            return
        attributes = "".join(f' {name}="{escape(value)}"' for name, value in node.attrs)
        out.append(f"<{node.tag}{attributes}>")
        if node.tag not in _VOID_BODY_TAGS:
            for child in node.children:
                write(child)
            out.append(f"</{node.tag}>")

    for node in nodes:
        write(node)
    return "".join(out)


@dataclass(frozen=True)
class RelativeReferences:
    """Links and images of a body whose URLs are relative: without a base URL to resolve
    them against, `sanitize_html` drops them (links keep their text)."""

    links: int = 0
    images: int = 0


def relative_references(html: str) -> RelativeReferences:
    """How many links and images of `html` have relative URLs (a fragment-only "#x" too)."""
    counts = {"a": 0, "img": 0}

    def count(tag: str, attribute: str, value: str) -> str | None:
        if (tag, attribute) in _URL_ATTRIBUTES:
            url = _URL_TAB_OR_NEWLINE_RE.sub("", strip_xml_forbidden(value).strip(_URL_WHITESPACE))
            try:
                parts = urlsplit(url)
            except ValueError:
                return None
            if url and not parts.scheme:
                counts[tag] += 1
        return value

    nh3.clean(
        strip_xml_forbidden(html),
        tags=BODY_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=BODY_ATTRIBUTES,
        attribute_filter=count,
        strip_comments=True,
        link_rel=None,
    )
    return RelativeReferences(links=counts["a"], images=counts["img"])
