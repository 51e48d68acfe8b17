"""Local terminology: ValueSet expansion, code membership and CodeSystem look-up.

https://hl7.org/fhir/R4/valueset.html#compose and https://hl7.org/fhir/R4/codesystem.html —
only what is known locally (the R4 core package, loaded IGs): ``compose.include`` of whole
code systems, of enumerated concepts, of ``is-a`` / ``descendent-of`` / ``is-not-a`` / ``=``
/ ``regex`` filters over local CodeSystems, of other value sets; ``exclude`` likewise.
A system we cannot enumerate (not local, or ``content`` not ``complete``) makes a membership
question *unknown* (``None``), never silently true.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fhir_service.conformance.registry import Registry


@dataclass
class Concept:
    code: str
    display: str | None
    definition: str | None
    parent: str | None
    properties: dict[str, list[Any]]
    designations: list[dict[str, Any]]
    raw: dict[str, Any]


@dataclass
class CodeSystemIndex:
    url: str
    version: str | None
    name: str | None
    content: str
    case_sensitive: bool
    concepts: dict[str, Concept] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.content == "complete"

    def find(self, code: str) -> Concept | None:
        c = self.concepts.get(code)
        if c is None and not self.case_sensitive:
            low = code.lower()
            for k, v in self.concepts.items():
                if k.lower() == low:
                    return v
        return c

    def descendants(self, code: str) -> set[str]:
        out: set[str] = set()
        stack = list(self.children.get(code, ()))
        while stack:
            c = stack.pop()
            if c not in out:
                out.add(c)
                stack.extend(self.children.get(c, ()))
        return out


@dataclass
class Expansion:
    """A locally computed expansion: codes per system, systems we could not enumerate."""

    url: str
    codes: dict[str, dict[str, str | None]] = field(default_factory=dict)  # system -> code -> display
    unchecked: set[str] = field(default_factory=set)  # systems included but not enumerable
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unchecked and not self.problems

    def contains(self, system: str | None, code: str) -> bool | None:
        """True / False, or None when membership cannot be decided locally."""
        if system is None:
            if any(code in codes for codes in self.codes.values()):
                return True
            return None if self.unchecked or self.problems else False
        codes = self.codes.get(system)
        if codes is not None and code in codes:
            return True
        if system in self.unchecked or self.problems:
            return None
        return False

    def display(self, system: str | None, code: str) -> str | None:
        for sys, codes in self.codes.items():
            if (system is None or sys == system) and code in codes:
                return codes[code]
        return None

    def items(self) -> Iterator[tuple[str, str, str | None]]:
        for system, codes in self.codes.items():
            for code, display in codes.items():
                yield system, code, display


def _strip_version(url: str) -> str:
    return url.split("|", 1)[0]


class Terminology:
    """Expansions and look-ups over the registry's ValueSets and CodeSystems (cached)."""

    MAX_EXPANSION = 100_000

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._cs: dict[str, CodeSystemIndex | None] = {}
        self._vs: dict[str, Expansion | None] = {}

    # --- code systems --------------------------------------------------------------------

    def code_system(self, url: str) -> CodeSystemIndex | None:
        url = _strip_version(url)
        if url in self._cs:
            return self._cs[url]
        res = self.registry.by_url(url)
        index = None
        if res is not None and res.get("resourceType") == "CodeSystem":
            index = CodeSystemIndex(
                url=url,
                version=res.get("version"),
                name=res.get("name"),
                content=res.get("content", "complete"),
                case_sensitive=bool(res.get("caseSensitive", True)),
            )
            self._index_concepts(index, res.get("concept", []), None)
            for code, concept in index.concepts.items():
                for parent in concept.properties.get("parent", []):
                    index.children.setdefault(str(parent), []).append(code)
        self._cs[url] = index
        return index

    def _index_concepts(self, index: CodeSystemIndex, concepts: list[dict[str, Any]],
                        parent: str | None) -> None:
        for c in concepts:
            code = c.get("code")
            if not isinstance(code, str):
                continue
            props: dict[str, list[Any]] = {}
            for p in c.get("property", []):
                value = next((v for k, v in p.items() if k.startswith("value")), None)
                props.setdefault(p.get("code", ""), []).append(value)
            index.concepts[code] = Concept(code, c.get("display"), c.get("definition"), parent,
                                           props, c.get("designation", []), c)
            if parent is not None:
                index.children.setdefault(parent, []).append(code)
            self._index_concepts(index, c.get("concept", []), code)

    def check_code(self, system: str, code: str) -> bool | None:
        """Is ``code`` defined by ``system``? None when the system is not known completely."""
        cs = self.code_system(system)
        if cs is None or not cs.complete:
            return None
        return cs.find(code) is not None

    # --- value sets ----------------------------------------------------------------------

    def expand(self, url: str) -> Expansion | None:
        """The expansion of a known ValueSet, or None when the ValueSet is unknown."""
        key = _strip_version(url)
        if key in self._vs:
            return self._vs[key]
        res = self.registry.by_url(url) or self.registry.by_url(key)
        if res is None or res.get("resourceType") != "ValueSet":
            self._vs[key] = None
            return None
        self._vs[key] = Expansion(key, problems=["recursive value set"])  # cycle guard
        exp = self._expand_resource(res)
        self._vs[key] = exp
        return exp

    def expand_resource(self, res: dict[str, Any]) -> Expansion:
        return self._expand_resource(res)

    def _expand_resource(self, res: dict[str, Any]) -> Expansion:
        exp = Expansion(res.get("url", ""))
        compose = res.get("compose")
        if compose is None:
            for c in _walk_contains(res.get("expansion", {}).get("contains", [])):
                if c.get("system") and c.get("code"):
                    exp.codes.setdefault(c["system"], {})[c["code"]] = c.get("display")
            if "expansion" not in res:
                exp.problems.append("the value set has neither compose nor expansion")
            return exp
        for inc in compose.get("include", []):
            self._include(exp, inc, add=True)
        for exc in compose.get("exclude", []):
            self._include(exp, exc, add=False)
        return exp

    def _include(self, exp: Expansion, inc: dict[str, Any], add: bool) -> None:
        system = inc.get("system")
        part: Expansion | None = None
        if system:
            part = self._system_part(system, inc)
        for vs_url in inc.get("valueSet", []):
            sub = self.expand(vs_url)
            if sub is None:
                sub = Expansion(vs_url, problems=[f"unknown value set {vs_url}"])
            part = sub if part is None else _intersect(part, sub)
        if part is None:
            return
        if add:
            for sys, codes in part.codes.items():
                exp.codes.setdefault(sys, {}).update(codes)
            exp.unchecked |= part.unchecked
            exp.problems.extend(part.problems)
        else:
            for sys, codes in part.codes.items():
                mine = exp.codes.get(sys)
                if mine:
                    for code in codes:
                        mine.pop(code, None)

    def _system_part(self, system: str, inc: dict[str, Any]) -> Expansion:
        part = Expansion(system)
        cs = self.code_system(system)
        concepts = inc.get("concept")
        filters = inc.get("filter", [])
        if concepts:
            codes = part.codes.setdefault(system, {})
            for c in concepts:
                display = c.get("display")
                if display is None and cs is not None and (found := cs.find(c["code"])):
                    display = found.display
                codes[c["code"]] = display
            return part
        if cs is None or not cs.complete:
            part.unchecked.add(system)
            return part
        selected: set[str] | None = None
        for f in filters:
            chosen = self._filter(cs, f)
            if chosen is None:
                part.unchecked.add(system)
                return part
            selected = chosen if selected is None else selected & chosen
        if selected is None:
            selected = set(cs.concepts)
        part.codes[system] = {c: cs.concepts[c].display for c in selected if c in cs.concepts}
        return part

    def _filter(self, cs: CodeSystemIndex, f: dict[str, Any]) -> set[str] | None:
        prop, op, value = f.get("property"), f.get("op"), str(f.get("value", ""))
        if prop in ("concept", "code") and op == "is-a":
            return ({value} | cs.descendants(value)) if value in cs.concepts else set()
        if prop in ("concept", "code") and op == "descendent-of":
            return cs.descendants(value)
        if prop in ("concept", "code") and op == "is-not-a":
            return set(cs.concepts) - ({value} | cs.descendants(value))
        if op == "regex" and prop in ("code", "concept"):
            rx = re.compile(value)
            return {c for c in cs.concepts if rx.fullmatch(c)}
        if op == "=":
            return {c for c, concept in cs.concepts.items()
                    if any(str(v) == value for v in concept.properties.get(str(prop), []))}
        return None

    # --- operations ----------------------------------------------------------------------

    def validate_code(self, vs_url: str, system: str | None, code: str,
                      display: str | None = None) -> tuple[bool | None, str]:
        exp = self.expand(vs_url)
        if exp is None:
            return None, f"The value set {vs_url} is not known here"
        found = exp.contains(system, code)
        label = f"{system}#{code}" if system else code
        if found is None:
            return None, (f"The code {label} cannot be checked against {vs_url}: the code system"
                          " is not available locally")
        if not found:
            return False, f"The code {label} is not in the value set {vs_url}"
        expected = exp.display(system, code)
        if display and expected and display != expected:
            return True, f"The display '{display}' differs from '{expected}'"
        return True, ""


def _walk_contains(contains: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for c in contains:
        yield c
        yield from _walk_contains(c.get("contains", []))


def _intersect(a: Expansion, b: Expansion) -> Expansion:
    out = Expansion(a.url, unchecked=a.unchecked | b.unchecked, problems=a.problems + b.problems)
    for sys, codes in a.codes.items():
        other = b.codes.get(sys, {})
        out.codes[sys] = {c: d for c, d in codes.items() if c in other}
    return out
