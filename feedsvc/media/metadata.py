"""The caption and credit of an image, written into its served bytes as XMP, and read back.

XMP, not EXIF or IPTC-IIM: it is what the IPTC Photo Metadata Standard defines its fields
in today, newsroom systems and photo desks read it from JPEG, PNG and WebP alike, and it
is Unicode throughout (IPTC-IIM is not, and PNG and WebP cannot carry it). A picture saved
from a feed or a page keeps who made it and what it shows. The fields:

- `dc:description` — the caption (IPTC "Description");
- `Iptc4xmpCore:AltTextAccessibility` — the caption too, which is the image's alt text on
  pages and in feeds (IPTC "Alt Text (Accessibility)");
- `photoshop:Credit` — the credit ("Foto: Stadt Rosenheim"; IPTC "Credit Line").

A copyright notice (`dc:rights`) is not written: the credit says who to name, not who
holds the rights, and feedsvc is not told the latter.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from lxml import etree

X_NS = "adobe:ns:meta/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC_NS = "http://purl.org/dc/elements/1.1/"
PHOTOSHOP_NS = "http://ns.adobe.com/photoshop/1.0/"
IPTC_CORE_NS = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
XML_NS = "http://www.w3.org/XML/1998/namespace"
_NAMESPACES = {"x": X_NS, "rdf": RDF_NS, "dc": DC_NS, "photoshop": PHOTOSHOP_NS, "Iptc4xmpCore": IPTC_CORE_NS}
# The packet wrapper XMP asks for (ISO 16684-1, 7.3): readers scanning files look for it.
_PACKET_BEGIN = b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_END = b'\n<?xpacket end="r"?>'
# Nothing from outside is fetched or expanded when an XMP packet is read.
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


@dataclass(frozen=True)
class ImageText:
    """What the XMP of an image says: its caption, alt text and credit ("" when not there)."""

    caption: str = ""
    credit: str = ""
    alt_text: str = ""


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _language_alternative(parent: etree._Element, ns: str, name: str, text: str, language: str) -> None:
    alternatives = etree.SubElement(etree.SubElement(parent, _q(ns, name)), _q(RDF_NS, "Alt"))
    item = etree.SubElement(alternatives, _q(RDF_NS, "li"))
    item.set(_q(XML_NS, "lang"), "x-default")
    item.text = text
    if language and language != "x-default":
        localised = etree.SubElement(alternatives, _q(RDF_NS, "li"))
        localised.set(_q(XML_NS, "lang"), language)
        localised.text = text


def xmp_packet(caption: str, credit: str, language: str = "de") -> bytes:
    """The XMP packet of an image with this caption and credit (plain text, as stored)."""
    meta = etree.Element(_q(X_NS, "xmpmeta"), nsmap=_NAMESPACES)
    rdf = etree.SubElement(meta, _q(RDF_NS, "RDF"))
    description = etree.SubElement(rdf, _q(RDF_NS, "Description"))
    description.set(_q(RDF_NS, "about"), "")
    if caption:
        _language_alternative(description, DC_NS, "description", caption, language)
        _language_alternative(description, IPTC_CORE_NS, "AltTextAccessibility", caption, language)
    if credit:
        etree.SubElement(description, _q(PHOTOSHOP_NS, "Credit")).text = credit
    return _PACKET_BEGIN + etree.tostring(meta, encoding="utf-8") + _PACKET_END


def _alternative_text(root: etree._Element, ns: str, name: str) -> str:
    items = root.findall(f".//{_q(ns, name)}/{_q(RDF_NS, 'Alt')}/{_q(RDF_NS, 'li')}")
    for item in items:
        if item.get(_q(XML_NS, "lang")) == "x-default":
            return item.text or ""
    return (items[0].text or "") if items else ""


def read_packet(packet: bytes) -> ImageText:
    """The caption, credit and alt text an XMP packet holds."""
    start, end = packet.find(b"<x:xmpmeta"), packet.rfind(b"</x:xmpmeta>")
    if start < 0 or end < 0:
        return ImageText()
    root = etree.fromstring(packet[start : end + len(b"</x:xmpmeta>")], parser=_SAFE_PARSER)
    credit = root.find(f".//{_q(PHOTOSHOP_NS, 'Credit')}")
    return ImageText(
        caption=_alternative_text(root, DC_NS, "description"),
        credit=(credit.text or "") if credit is not None else "",
        alt_text=_alternative_text(root, IPTC_CORE_NS, "AltTextAccessibility"),
    )


def read_image_text(data: bytes) -> ImageText:
    """What the XMP of an encoded JPEG, PNG or WebP image says (empty without XMP)."""
    from PIL import Image  # imported when an image is read, as in `sniffing`

    with Image.open(io.BytesIO(data)) as image:
        packet = image.info.get("xmp")
    if isinstance(packet, str):
        packet = packet.encode("utf-8")
    return read_packet(packet) if isinstance(packet, bytes) else ImageText()
