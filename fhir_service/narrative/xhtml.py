"""A tiny XHTML builder for R4 narratives: https://hl7.org/fhir/R4/narrative.html#xhtml.

Only the elements the generator needs (all in the basic set txt-1 allows: ``div p b span
table tr th td ul li``) and no attribute but ``class``, ``lang`` and ``xml:lang`` on the
root. Every piece of data goes through :func:`esc`: XML's special characters are escaped
and characters XML 1.0 cannot carry (U+FFFE, U+FFFF; control characters are refused on
input anyway) are replaced, so no value can open an element, an attribute or an entity.
"""

from __future__ import annotations

import re

XHTML_NS = "http://www.w3.org/1999/xhtml"
# the mark of a narrative this server generated (regenerated from the data on every write)
GENERATED_CLASS = "cm-generated"
OPEN = f'<div xmlns="{XHTML_NS}" lang="fr" xml:lang="fr" class="{GENERATED_CLASS}">'
CLOSE = "</div>"

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# data only ever goes into text content (never into an attribute): &, < and > are enough
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def esc(value: object) -> str:
    """Text content, escaped for XHTML (never markup)."""
    text = value if isinstance(value, str) else str(value)
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("\ufffd", text)
    return text.translate(_ESCAPES)


def is_generated(div: object) -> bool:
    """Whether a ``div`` carries the mark of a narrative this server generated."""
    return isinstance(div, str) and div.startswith(OPEN)
