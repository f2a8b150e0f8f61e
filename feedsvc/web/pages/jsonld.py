"""schema.org `NewsArticle` of a release page, as JSON-LD safe to embed in HTML.

Inside `<script>` the HTML parser ends the element at the first `</script` whatever
the JSON means, and `<!--` changes how it scans; so `<`, `>` and `&` are written as
JSON escapes, which mean the same to every JSON-LD reader. U+2028/U+2029 are
escaped too, for readers that evaluate the block as JavaScript.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from markupsafe import Markup

from feedsvc.config import site_identity
from feedsvc.models import Release
from feedsvc.web import urls
from feedsvc.web.pages.formatting import iso_datetime

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def news_article(release: Release, page_url: str, city_url: str) -> dict[str, Any]:
    publisher = {"@type": "Organization", "name": release.publisher.name}
    article: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": page_url,
        "url": page_url,
        "headline": release.title,
        "description": release.summary,
        "datePublished": iso_datetime(release.published_at),
        "dateModified": iso_datetime(max(release.updated_at, release.published_at)),
        "inLanguage": release.language,
        "author": {"@type": "Organization", "name": release.author},
        "publisher": publisher,
        "contentLocation": {"@type": "City", "name": release.city.name, "url": city_url},
        "articleSection": [topic.name for topic in release.topics],
        # The press office publishes the release; the site is where it appears.
        "isPartOf": {"@type": "WebSite", "name": site_identity(current_app).name, "url": urls.absolute("/")},
    }
    if release.images:
        article["image"] = [
            {
                "@type": "ImageObject",
                "url": urls.asset_url(image.url),
                "caption": image.caption,
                "creditText": image.credit,
            }
            for image in release.images
        ]
    if release.source_url:
        article["isBasedOn"] = release.source_url
    if release.correction_note:
        # schema.org: a CorrectionComment tells what was corrected, and when.
        article["correction"] = {
            "@type": "CorrectionComment",
            "text": release.correction_note,
            "datePublished": iso_datetime(release.updated_at),
        }
    return article


def script_json(data: dict[str, Any]) -> Markup:
    """`data` as JSON that cannot end or confuse the `<script>` element around it."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=None)
    for char, escape in _ESCAPES.items():
        text = text.replace(char, escape)
    # Safe for the HTML parser by construction: no "<" is left to open a tag.
    return Markup(text)
