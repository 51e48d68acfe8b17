"""FHIR XML read into the JSON form the validator walks.

https://hl7.org/fhir/R4/xml.html and https://hl7.org/fhir/R4/json.html — the mapping is driven
by the base StructureDefinitions of the registry (never by a list of names): an element that
repeats (base ``max`` not 1) becomes an array, a primitive's ``value`` attribute becomes a JSON
string, boolean or number after its type, its ``id`` and extensions go to ``_name``, an
Extension's ``url`` attribute is a property, a resource inside an element (``contained``,
``Bundle.entry.resource``) is unwrapped, and a Narrative ``div`` is serialised as XHTML text.
An XML document that does not follow the format raises :class:`FhirError` (structure), with the
path of the element at fault.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from typing import Any

from fhir_service.conformance.registry import Registry
from fhir_service.outcomes import FhirError

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
_INTEGERS = frozenset({"integer", "positiveInt", "unsignedInt", "integer64"})


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _upper_first(s: str) -> str:
    return s[:1].upper() + s[1:]


class XmlReader:
    """Reads FHIR XML resources with the type definitions of ``registry``."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._elements: dict[str, dict[str, dict[str, Any]]] = {}

    def loads(self, text: str | bytes) -> dict[str, Any]:
        head = text[:4096] if isinstance(text, str) else text[:4096].decode("utf-8", "replace")
        if "<!DOCTYPE" in head or "<!ENTITY" in head:
            # https://hl7.org/fhir/R4/xml.html: no DTD (and so no entity expansion)
            raise FhirError("structure", "FHIR XML must not have a DOCTYPE or entity "
                            "declarations")
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise FhirError("structure", f"Invalid XML: {exc}") from None
        ns, name = _local(root.tag)
        if ns != FHIR_NS:
            raise FhirError("structure", f"The root element is not in the FHIR namespace ({ns})",
                            name)
        try:
            return self._resource(root, name)
        except RecursionError:
            raise FhirError("structure", "The XML is nested too deeply") from None

    # --- definitions ---------------------------------------------------------------------

    def _defs(self, type_name: str) -> dict[str, dict[str, Any]]:
        """Snapshot elements of a base type, by path."""
        if type_name not in self._elements:
            sd = (self.registry.type_definition(type_name) or self.registry.by_url(
                "http://hl7.org/fhir/StructureDefinition/" + type_name) or {})
            self._elements[type_name] = {
                e["path"]: e for e in (sd.get("snapshot") or {}).get("element", [])
                if "path" in e
            }
        return self._elements[type_name]

    def _is_resource(self, type_name: str) -> bool:
        sd = self.registry.type_definition(type_name)
        return sd is not None and sd.get("kind") == "resource"

    def _is_primitive(self, type_name: str) -> bool:
        if type_name[:1].islower():
            return True
        sd = self.registry.type_definition(type_name)
        return sd is not None and sd.get("kind") == "primitive-type"

    def _find(self, defs: dict[str, dict[str, Any]], path: str,
              name: str) -> tuple[dict[str, Any], str, str] | None:
        """(definition, JSON name, type code) of the child ``name`` of ``path``."""
        el = defs.get(f"{path}.{name}")
        if el is not None:
            types = el.get("type") or []
            return el, name, (types[0].get("code", "") if len(types) == 1 else "")
        for p, el in defs.items():
            if not p.startswith(f"{path}.") or not p.endswith("[x]"):
                continue
            base = p[len(path) + 1:-3]
            if "." in base or not name.startswith(base):
                continue
            suffix = name[len(base):]
            for t in el.get("type") or []:
                if _upper_first(t.get("code", "")) == suffix:
                    return el, name, t["code"]
        return None

    # --- reading -------------------------------------------------------------------------

    def _resource(self, el: ET.Element, rtype: str) -> dict[str, Any]:
        if not self._is_resource(rtype):
            raise FhirError("structure", f"Unknown resource type '{rtype}'", rtype)
        out: dict[str, Any] = {"resourceType": rtype}
        self._children(el, out, self._defs(rtype), rtype, rtype)
        return out

    def _children(self, el: ET.Element, out: dict[str, Any], defs: dict[str, dict[str, Any]],
                  path: str, loc: str) -> None:
        for attr in ("id", "url"):
            if attr in el.attrib and f"{path}.{attr}" in defs:
                out[attr] = el.attrib[attr]
        for child in el:
            ns, name = _local(child.tag)
            if not isinstance(child.tag, str) or ns != FHIR_NS:
                if ns == XHTML_NS and name == "div" and f"{path}.div" in defs:
                    out["div"] = ET.tostring(child, encoding="unicode").replace(
                        "<html:", "<").replace("</html:", "</").replace(
                        'xmlns:html="', 'xmlns="')
                    continue
                raise FhirError("structure", f"Unexpected element {child.tag}", f"{loc}.{name}")
            found = self._find(defs, path, name)
            if found is None:
                raise FhirError("structure", f"Unknown element '{name}'", f"{loc}.{name}")
            edef, key, tcode = found
            repeats = str((edef.get("base") or {}).get("max", edef.get("max", "1"))) != "1"
            at = f"{loc}.{name}"
            if self._is_primitive(tcode):
                value, ext = self._primitive(child, tcode, at)
                if value is not None or repeats:
                    self._put(out, key, value, repeats)
                if ext is not None or repeats:
                    self._put(out, "_" + key, ext, repeats)
                continue
            value = self._complex(child, edef, tcode, defs, at)
            self._put(out, key, value, repeats)
        for key in [k for k in out if k.startswith("_")]:
            if isinstance(out[key], list) and all(v is None for v in out[key]):
                del out[key]

    @staticmethod
    def _put(out: dict[str, Any], key: str, value: Any, repeats: bool) -> None:
        if repeats:
            out.setdefault(key, []).append(value)
        elif key in out:
            raise FhirError("structure", f"'{key}' must not repeat", key)
        else:
            out[key] = value

    def _complex(self, child: ET.Element, edef: dict[str, Any], tcode: str,
                 defs: dict[str, dict[str, Any]], at: str) -> Any:
        if tcode in ("Resource", "DomainResource") or self._is_resource(tcode):
            inner = [c for c in child if isinstance(c.tag, str)]
            if len(inner) != 1:
                raise FhirError("structure", "A resource element must hold one resource", at)
            return self._resource(inner[0], _local(inner[0].tag)[1])
        value: dict[str, Any] = {}
        ref = edef.get("contentReference")
        if ref:
            target = ref.split("#", 1)[-1]
            tdefs = defs if target in defs else self._defs(target.split(".", 1)[0])
            self._children(child, value, tdefs, target, at)
        elif tcode in ("BackboneElement", "Element") and any(
            p.startswith(edef["path"] + ".") for p in defs
        ):
            self._children(child, value, defs, edef["path"], at)
        else:
            self._children(child, value, self._defs(tcode), tcode, at)
        return value

    def _primitive(self, child: ET.Element, tcode: str, at: str) -> tuple[Any, Any]:
        raw = child.attrib.get("value")
        value: Any = raw
        if raw is not None:
            if tcode == "boolean":
                if raw not in ("true", "false"):
                    raise FhirError("structure", f"Invalid boolean '{raw}'", at)
                value = raw == "true"
            elif tcode in _INTEGERS:
                try:
                    value = int(raw)
                except ValueError:
                    raise FhirError("structure", f"Invalid integer '{raw}'", at) from None
            elif tcode == "decimal":
                try:
                    value = Decimal(raw)
                except InvalidOperation:
                    raise FhirError("structure", f"Invalid decimal '{raw}'", at) from None
        if raw is None and not len(child) and "id" not in child.attrib:
            raise FhirError("structure", "An element must have a value or children (ele-1)", at)
        ext: dict[str, Any] = {}
        if "id" in child.attrib:
            ext["id"] = child.attrib["id"]
        defs = self._defs("Element")
        for sub in child:
            ns, name = _local(sub.tag)
            if ns != FHIR_NS or name != "extension":
                raise FhirError("structure", f"Unexpected element '{name}' in a primitive",
                                f"{at}.{name}")
            ext.setdefault("extension", []).append(
                self._complex(sub, defs["Element.extension"], "Extension", defs, at))
        return value, (ext or None)
