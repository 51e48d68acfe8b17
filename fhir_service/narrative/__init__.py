"""Generated French narratives (``text``, status ``generated``) for the resources our profiles
cover: https://hl7.org/fhir/R4/narrative.html. See docs/narratives.md.

:func:`narrate` is called by the write rules (``interactions/write.py``) on every create and
update, before the "no change" comparison:

* a resource without ``text`` gets one generated from its data;
* a narrative this server generated (its ``div`` carries the ``cm-generated`` class) is
  generated again from the data, so a client that read a resource, changed it and sent it
  back with the old narrative does not keep a narrative that contradicts the data;
* any other narrative (the client's own) is kept as it is.

Generation depends on the resource only (no query), so the same content gives the same
narrative: a PUT of unchanged content without ``text`` still equals the current version and
creates none.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path
from typing import Any

from fhir_service.narrative.labels import Terms
from fhir_service.narrative.render import RENDERERS, questionnaire_response
from fhir_service.narrative.xhtml import is_generated

__all__ = ["RENDERERS", "Narrator", "generated_text", "narrate", "narrator_for"]


class Narrator:
    """Narratives for one registry (code displays and questionnaire texts looked up once)."""

    def __init__(self, registry: Any, ig_paths: tuple[Path, ...] = ()) -> None:
        self.terms = Terms(registry)
        self.questions: dict[str, dict[str, str]] = {}
        for path in ig_paths:
            folder = Path(path) / "fsh-generated" / "resources"
            for file in sorted(folder.glob("Questionnaire-*.json")) if folder.is_dir() else ():
                try:
                    data = json.loads(file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if isinstance(data, dict) and isinstance(data.get("url"), str):
                    texts: dict[str, str] = {}
                    _question_texts(data.get("item"), texts)
                    self.questions[data["url"]] = texts

    def div(self, resource: dict[str, Any]) -> str | None:
        """The generated ``div`` of a resource, or None for a type with no renderer."""
        rtype = resource.get("resourceType")
        render = RENDERERS.get(rtype) if isinstance(rtype, str) else None
        if render is None:
            return None
        if render is questionnaire_response:
            url = resource.get("questionnaire")
            page = render(resource, self.terms,
                          self.questions.get(url) if isinstance(url, str) else None)
        else:
            page = render(resource, self.terms)
        return page.html()

    def apply(self, resource: dict[str, Any]) -> dict[str, Any]:
        """``resource`` with its narrative (a new dict when one is generated)."""
        text = resource.get("text")
        if text is not None and not generated_text(text):
            return resource  # the client's own narrative
        try:
            div = self.div(resource)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError):
            # (content the write checks let through in a shape no renderer expects: stored
            # without a narrative rather than refused; tests/narrative mutate the examples)
            return resource
        if div is None:
            return resource
        head: dict[str, Any] = {k: resource[k] for k in ("resourceType", "id", "meta",
                                                         "implicitRules", "language")
                                if k in resource}
        rest = {k: v for k, v in resource.items() if k not in head and k != "text"}
        return {**head, "text": {"status": "generated", "div": div}, **rest}


def generated_text(text: object) -> bool:
    """Whether a ``text`` element is a narrative this server generated (it follows the data:
    comparisons of content, such as an importer's "unchanged", leave it out)."""
    return isinstance(text, dict) and text.get("status") == "generated" and \
        is_generated(text.get("div"))


def _question_texts(items: object, out: dict[str, str]) -> None:
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            if isinstance(item.get("linkId"), str) and isinstance(item.get("text"), str):
                out[item["linkId"]] = item["text"]
            _question_texts(item.get("item"), out)


_NARRATORS: weakref.WeakKeyDictionary[Any, Narrator] = weakref.WeakKeyDictionary()


def narrator_for(ctx: Any) -> Narrator:
    """The narrator of a context's registry (built on first use)."""
    narrator = _NARRATORS.get(ctx.registry)
    if narrator is None:
        narrator = Narrator(ctx.registry, tuple(ctx.settings.ig_packages))
        _NARRATORS[ctx.registry] = narrator
    return narrator


def narrate(ctx: Any, resource: dict[str, Any]) -> dict[str, Any]:
    """The write path's hook: ``resource`` with its narrative when narratives are on."""
    if not getattr(ctx.settings, "narratives", True):
        return resource
    if resource.get("resourceType") not in RENDERERS:
        return resource
    return narrator_for(ctx).apply(resource)
