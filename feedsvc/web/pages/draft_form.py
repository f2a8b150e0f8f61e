"""What a draft keeps of the publish form (`Draft.form`, JSON) and the bounds it is kept in.

A draft holds what the form held, complete or not: nothing is validated as a release until
it is published (then `publish_form.parse_new` runs, as for any new release). Files sent with
the form are uploaded first, as when it is published (`desk_uploads`), so that the draft's rows
name their uploads. A draft is
bounded all the same, so that nothing unbounded is stored: the body as long as a release's,
every other field at most `MAX_FIELD_CHARS`, at most `MAX_TOPICS` topics. Characters that
XML (and PostgreSQL's text) cannot hold are removed, as from a release.
"""

from __future__ import annotations

import json
from typing import Any

from feedsvc.models import Draft
from feedsvc.publishing.drafts import DraftContent
from feedsvc.publishing.input import MAX_BODY_CHARS
from feedsvc.text import plain_text, strip_xml_forbidden
from feedsvc.web.pages.publish_form import (
    ATTACHMENT_FIELDS,
    IMAGE_FIELDS,
    MAX_ATTACHMENTS,
    MAX_IMAGES,
    ReleaseForm,
)

# Longer than any field of a release may be (a title of 300 characters may be typed with markup
# or entities that cleaning removes), and short enough that a draft stays small.
MAX_FIELD_CHARS = 3000
MAX_TOPICS = 50
TITLE_CHARS = 300


def draft_content(form: ReleaseForm) -> DraftContent | None:
    """What a draft of `form` holds; None, with the errors put on the form, when a field is
    longer than a draft keeps."""
    for name, value in form.values.items():
        limit = MAX_BODY_CHARS if name == "body" else MAX_FIELD_CHARS
        if len(value) > limit:
            form.add_error(name, f"Höchstens {limit} Zeichen.")
    for kind, rows, names in (
        ("images", form.images, IMAGE_FIELDS),
        ("attachments", form.attachments, ATTACHMENT_FIELDS),
    ):
        for row, item in enumerate(rows):
            for name in names:
                if len(item.get(name, "")) > MAX_FIELD_CHARS:
                    form.add_error(f"{kind}-{row}-{name}", f"Höchstens {MAX_FIELD_CHARS} Zeichen.")
    topics = list(dict.fromkeys(form.topics))
    if len(topics) > MAX_TOPICS or any(len(topic) > MAX_FIELD_CHARS for topic in topics):
        form.add_error("topics", f"Höchstens {MAX_TOPICS} Einträge.")
    if form.errors:
        return None
    values = {name: strip_xml_forbidden(value) for name, value in form.values.items()}
    kept = {
        "values": values,
        "topics": [strip_xml_forbidden(topic) for topic in topics],
        "images": [
            {name: strip_xml_forbidden(image.get(name, "")) for name in IMAGE_FIELDS}
            for image in form.images[:MAX_IMAGES]
        ],
        "attachments": [
            {name: strip_xml_forbidden(attachment.get(name, "")) for name in ATTACHMENT_FIELDS}
            for attachment in form.attachments[:MAX_ATTACHMENTS]
        ],
    }
    title = plain_text(values.get("title", ""))[:TITLE_CHARS]
    encoded = json.dumps(kept, ensure_ascii=False, sort_keys=True)
    return DraftContent(city=values.get("city", ""), title=title, form=encoded)


def form_of_draft(draft: Draft) -> ReleaseForm:
    """The form as the draft keeps it, at the draft's revision and with its submission key."""
    stored = _loaded(draft.form)
    values = stored.get("values")
    topics = stored.get("topics")
    images = stored.get("images")
    attachments = stored.get("attachments")
    return ReleaseForm(
        values={name: value for name, value in _items(values) if isinstance(value, str)},
        topics=[topic for topic in topics if isinstance(topic, str)] if isinstance(topics, list) else [],
        images=[
            {name: str(image.get(name, "")) for name in IMAGE_FIELDS}
            for image in (images if isinstance(images, list) else [])
            if isinstance(image, dict)
        ],
        attachments=[
            {name: str(attachment.get(name, "")) for name in ATTACHMENT_FIELDS}
            for attachment in (attachments if isinstance(attachments, list) else [])
            if isinstance(attachment, dict)
        ],
        submission_key=draft.submission_key,
        draft_revision=draft.revision,
    )


def _loaded(text: str) -> dict[str, Any]:
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _items(value: object) -> list[tuple[str, object]]:
    return [(str(name), item) for name, item in value.items()] if isinstance(value, dict) else []
