"""The site's identity: its name and short name, logo and icon, colours and contact, as
every page, feed and list shows them (FEEDSVC_SITE_* settings, docs/operations.md).

The settings check the form of each value (`feedsvc.settings`); here, once when the app
starts, a logo or icon file is read from the instance folder and checked to be the image
its name says, and everything shown is summed up in one fingerprint. The fingerprint is
part of every feed's ETag, and of the URLs of the logo, the icon and the colours'
stylesheet, so a changed identity never hides behind an old validator or a cached copy.

Colours must stay readable: the text drawn in or on them must keep WCAG AA's contrast of
4.5:1 (BITV 2.0 asks German public bodies for it), which `colour_problem` checks.

No Flask, no SQLAlchemy: this module works on settings values and files only.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any, Final
from urllib.parse import urlsplit

DEFAULT_NAME: Final = "Kommunale Pressemitteilungen"
DEFAULT_SHORT_NAME: Final = "Pressemitteilungen"
# The colours of static/css/site.css (--accent, --accent-ink, --accent-soft).
DEFAULT_PRIMARY: Final = "#0a4a85"
DEFAULT_ACCENT: Final = "#083963"
DEFAULT_SOFT: Final = "#e7eff7"
# What stands behind text in the stylesheet: the cards (--paper) and the page (--soft).
PAPER: Final = "#ffffff"
PAGE_BACKGROUND: Final = "#f3f5f7"
# WCAG 2.1 AA, success criterion 1.4.3: normal text.
MIN_CONTRAST: Final = 4.5
# The built-in images, used while no logo or icon is configured.
BUILT_IN_LOGO: Final = "/static/logo.png"
BUILT_IN_ICON: Final = "/static/icon.png"
BUILT_IN_FAVICON: Final = "/static/favicon.svg"
# Where the configured files and the colours' stylesheet are served (web/site.py).
ASSET_PREFIX: Final = "/site/"
# A logo is a few kilobytes; a larger file is most likely the wrong one.
MAX_IMAGE_BYTES: Final = 1024 * 1024

# Image types a feed may name: RSS 2.0 allows GIF, JPEG and PNG for <image>; an icon may
# also be an .ico file. SVG is left out on purpose: served from this site it could run script.
_SIGNATURES: Final = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/x-icon": (b"\x00\x00\x01\x00",),
}
_LOGO_TYPES: Final = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
_ICON_TYPES: Final = {**_LOGO_TYPES, ".ico": "image/x-icon"}
IMAGE_TYPES: Final = {"logo": _LOGO_TYPES, "icon": _ICON_TYPES}
_HEX_COLOUR: Final = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
# What a URL written into pages and feeds as it is must not hold (RFC 3986 has no room for them).
_NOT_IN_URLS: Final = re.compile(r"[\s\x00-\x1f\x7f\"'<>\\^`{|}]")


# --- colours ------------------------------------------------------------------------------


def normalise_colour(value: str) -> str:
    """A CSS hex colour as `#rrggbb` in lower case; ValueError for anything else."""
    text = value.strip()
    if not _HEX_COLOUR.fullmatch(text):
        raise ValueError(f"{value!r} is not a CSS hex colour")
    digits = text[1:].lower()
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    return f"#{digits}"


def _channels(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def relative_luminance(colour: str) -> float:
    """WCAG 2.1's relative luminance of an sRGB `#rrggbb` colour."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in _channels(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.1's contrast ratio of two `#rrggbb` colours, from 1 to 21."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def soft_tint(primary: str) -> str:
    """The light background of labels and highlights: one tenth of `primary` on white
    (site.css's own --accent-soft for the built-in colour)."""
    if primary == DEFAULT_PRIMARY:
        return DEFAULT_SOFT
    mixed = (round(channel * 0.1 + 255 * 0.9) for channel in _channels(primary))
    return "#" + "".join(f"{channel:02x}" for channel in mixed)


def colour_problem(role: str, colour: str, primary: str) -> str | None:
    """Why `colour` cannot be the `role` ("primary" or "accent") colour, or None.

    site.css draws the primary colour as link text on white cards and on the page
    background, and white text on it (buttons, the logo mark); the accent colour as link
    text when hovered, white text on it (hovered buttons) and text on the soft tint of the
    primary colour (topic labels)."""
    backgrounds = [("white", PAPER), ("the page background", PAGE_BACKGROUND)]
    if role == "accent":
        backgrounds = [("white", PAPER), ("the light tint of the primary colour", soft_tint(primary))]
    for label, background in backgrounds:
        ratio = contrast_ratio(colour, background)
        if ratio < MIN_CONTRAST:
            return (
                f"text in {colour} on {label} ({background}) has a contrast of {ratio:.2f}:1, "
                f"below the {MIN_CONTRAST}:1 WCAG AA asks for"
            )
    return None


@dataclass(frozen=True)
class Colours:
    primary: str = DEFAULT_PRIMARY
    accent: str = DEFAULT_ACCENT

    @property
    def are_built_in(self) -> bool:
        return (self.primary, self.accent) == (DEFAULT_PRIMARY, DEFAULT_ACCENT)

    def stylesheet(self) -> str:
        """The custom properties of site.css that carry the colours, set to these."""
        return (
            "/* The site's colours (FEEDSVC_SITE_COLOR_PRIMARY and _ACCENT), over site.css. */\n"
            ":root {\n"
            f"  --accent: {self.primary};\n"
            f"  --accent-ink: {self.accent};\n"
            f"  --accent-soft: {soft_tint(self.primary)};\n"
            "}\n"
        )


# --- logo and icon ------------------------------------------------------------------------


def asset_form_problem(role: str, value: str) -> str | None:
    """Why `value` is not the form a logo or icon (`role`) is given in, or None: an
    http(s) URL, or a path inside the instance folder, with one of the accepted endings."""
    accepted = IMAGE_TYPES[role]
    parts = urlsplit(value)
    if parts.scheme in ("http", "https"):
        if not parts.hostname or parts.username or parts.password or _NOT_IN_URLS.search(value):
            return f"{value!r} is not a well-formed http:// or https:// URL without credentials"
        path = PurePosixPath(parts.path)
    elif parts.scheme and len(parts.scheme) > 1:
        return f"{value!r} is neither an http:// or https:// URL nor a file name"
    else:
        path = PurePosixPath(value)
        if value.startswith(("/", "\\")) or ".." in path.parts or "\\" in value or "\x00" in value:
            return f"{value!r} is not a path inside the instance folder"
    if path.suffix.lower() not in accepted:
        return f"{value!r} does not end in {', '.join(accepted)}"
    return None


@dataclass(frozen=True)
class Asset:
    """A logo or icon: a file of the instance folder that feedsvc serves (`data` set), or
    an image elsewhere (`url`)."""

    role: str
    url: str | None = None
    data: bytes = b""
    media_type: str = ""
    digest: str = ""
    modified: datetime | None = None

    @property
    def served_path(self) -> str | None:
        """Where feedsvc serves the file: the digest in its name, so it may be cached for ever."""
        if self.url is not None:
            return None
        ending = next(end for end, kind in IMAGE_TYPES[self.role].items() if kind == self.media_type)
        return f"{ASSET_PREFIX}{self.role}-{self.digest[:16]}{ending}"

    @property
    def identity(self) -> str:
        return self.url if self.url is not None else self.digest


def read_asset(role: str, value: str, instance_path: Path) -> Asset:
    """The logo or icon `value` names (its form checked already), the file read and checked
    to be the image its ending says; ValueError saying why not."""
    if urlsplit(value).scheme in ("http", "https"):
        return Asset(role, url=value)
    media_type = IMAGE_TYPES[role][PurePosixPath(value).suffix.lower()]
    path = instance_path / value
    try:
        # Checked before it is opened: opening a FIFO would wait for a writer.
        if not path.is_file():
            raise ValueError(f"{path} {'is not a file' if path.exists() else 'does not exist'}")
        with path.open("rb") as file:
            modified = os.fstat(file.fileno()).st_mtime
            data = file.read(MAX_IMAGE_BYTES + 1)
    except OSError as error:
        raise ValueError(f"{path} cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"{path} is larger than {MAX_IMAGE_BYTES // 1024} KiB")
    if not data.startswith(_SIGNATURES[media_type]):
        raise ValueError(f"{path} is not a {media_type.removeprefix('image/').upper()} image")
    return Asset(
        role,
        data=data,
        media_type=media_type,
        digest=hashlib.sha256(data).hexdigest(),
        modified=datetime.fromtimestamp(int(modified), UTC),
    )


# --- the identity -------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    email: str | None = None
    address: str | None = None
    phone: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.email or self.address or self.phone)

    @property
    def phone_uri(self) -> str | None:
        """The phone number as a `tel:` URI: digits and a leading +, as RFC 3966 writes them."""
        if not self.phone:
            return None
        number = self.phone.strip()
        if number.startswith("+"):
            # "+49 (0) 8031 …": the trunk prefix in brackets is not dialled from abroad.
            number = number.replace("(0)", "")
        digits = re.sub(r"[^0-9+]", "", number)
        return f"tel:{digits[0]}{digits[1:].replace('+', '')}" if digits else None


@dataclass(frozen=True)
class Identity:
    """What the site says it is, on every page and in every feed."""

    name: str = DEFAULT_NAME
    short_name: str = DEFAULT_SHORT_NAME
    logo: Asset | None = None
    # The configured icon; without one, the logo's file serves as icon too.
    icon: Asset | None = None
    colours: Colours = Colours()
    contact: Contact = Contact()

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever anything this identity shows does."""
        shown = (
            self.name,
            self.short_name,
            self.logo.identity if self.logo else None,
            self.icon.identity if self.icon else None,
            self.colours,
            self.contact,
        )
        return hashlib.sha256(repr(shown).encode("utf-8")).hexdigest()[:16]

    def feed_title(self, subject_title: str) -> str:
        """The title of a feed, and of every link to it: "Pressemitteilungen – Rosenheim"."""
        return f"{self.short_name} – {subject_title}"

    @property
    def shown_icon(self) -> Asset | None:
        return self.icon or self.logo

    @cached_property
    def theme_path(self) -> str | None:
        """Where the colours' stylesheet is served; None while the colours are site.css's own."""
        if self.colours.are_built_in:
            return None
        digest = hashlib.sha256(self.colours.stylesheet().encode("utf-8")).hexdigest()
        return f"{ASSET_PREFIX}theme-{digest[:16]}.css"

    def logo_path(self) -> str:
        """The logo as a site path or absolute URL (feeds: Atom `logo`, RSS `<image>`, JSON `icon`)."""
        return _shown(self.logo, BUILT_IN_LOGO)

    def icon_path(self) -> str:
        """The icon as a site path or absolute URL (feeds: Atom `icon`, JSON `favicon`)."""
        return _shown(self.shown_icon, BUILT_IN_ICON)

    def favicon(self) -> tuple[str, str | None]:
        """The `<link rel="icon">` of the pages: its href and, when known, its type."""
        icon = self.shown_icon
        if icon is None:
            return BUILT_IN_FAVICON, "image/svg+xml"
        return _shown(icon, BUILT_IN_ICON), icon.media_type or None

    def served_files(self) -> dict[str, tuple[bytes, str, datetime | None]]:
        """The files feedsvc serves under `ASSET_PREFIX`: name → (bytes, media type, modified)."""
        files: dict[str, tuple[bytes, str, datetime | None]] = {}
        for asset in (self.logo, self.icon):
            if asset is not None and (path := asset.served_path) is not None:
                files[path.removeprefix(ASSET_PREFIX)] = (asset.data, asset.media_type, asset.modified)
        if (theme := self.theme_path) is not None:
            stylesheet = self.colours.stylesheet().encode("utf-8")
            files[theme.removeprefix(ASSET_PREFIX)] = (stylesheet, "text/css", None)
        return files


def _shown(asset: Asset | None, built_in: str) -> str:
    if asset is None:
        return built_in
    return asset.url if asset.url is not None else str(asset.served_path)


def identity_from(values: Mapping[str, Any], instance_path: Path) -> tuple[Identity, list[tuple[str, str]]]:
    """The identity the checked settings `values` describe, and the problems of its files:
    (setting, reason) for each logo or icon that cannot be read or is no such image."""
    problems: list[tuple[str, str]] = []
    assets: dict[str, Asset | None] = {}
    for role, key in (("logo", "SITE_LOGO"), ("icon", "SITE_ICON")):
        value = values.get(key)
        try:
            assets[role] = read_asset(role, value, instance_path) if value else None
        except ValueError as error:
            problems.append((key, str(error)))
            assets[role] = None
    identity = Identity(
        name=values["SITE_NAME"],
        short_name=values["SITE_SHORT_NAME"],
        logo=assets["logo"],
        icon=assets["icon"],
        colours=Colours(values["SITE_COLOR_PRIMARY"], values["SITE_COLOR_ACCENT"]),
        contact=Contact(
            values["SITE_CONTACT_EMAIL"], values["SITE_CONTACT_ADDRESS"], values["SITE_CONTACT_PHONE"]
        ),
    )
    return identity, problems
