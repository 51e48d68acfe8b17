"""Narrative XHTML checks (txt-1, txt-2): https://hl7.org/fhir/R4/narrative.html#xhtml."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

XHTML_NS = "http://www.w3.org/1999/xhtml"
_ALLOWED_TEXT = (
    "a abbr acronym b big blockquote br caption cite code col colgroup dd dfn div dl dt em h1 h2 "
    "h3 h4 h5 h6 hr i img li ol p pre q samp small span strong sub sup table tbody td tfoot th "
    "thead tr tt ul var"
)
_ALLOWED = frozenset(_ALLOWED_TEXT.split())
_FORBIDDEN_ATTRS = re.compile(r"^on", re.IGNORECASE)
# HTML entities are not XML: the XHTML of R4 narratives only knows XML's five and numeric ones
_ENTITY = re.compile(r"&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)")


def check_div(div: str) -> list[str]:
    """Problems with a Narrative ``div`` (empty list when it is acceptable)."""
    if _ENTITY.search(div):
        return ["the narrative uses an HTML entity that XHTML does not define"]
    try:
        root = ET.fromstring(div)
    except ET.ParseError as exc:
        return [f"the narrative is not well-formed XHTML ({exc})"]
    problems = []
    if root.tag != f"{{{XHTML_NS}}}div":
        problems.append("the narrative must be a <div> in the XHTML namespace")
    text = "".join(root.itertext()).strip()
    if not text and root.find(f".//{{{XHTML_NS}}}img") is None:
        problems.append("txt-2: the narrative must contain some non-whitespace content")
    for el in root.iter():
        tag = el.tag.split("}", 1)[-1]
        if tag not in _ALLOWED:
            problems.append(f"txt-1: the element <{tag}> is not allowed in a narrative")
        for name in el.attrib:
            if _FORBIDDEN_ATTRS.match(name.split("}", 1)[-1]):
                problems.append(f"txt-1: the attribute {name} is not allowed in a narrative")
    return problems
