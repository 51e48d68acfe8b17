"""The profile validator: an instance walked against StructureDefinition snapshots.

https://hl7.org/fhir/R4/validation.html and https://hl7.org/fhir/R4/profiling.html —
element names and JSON types, cardinality, R4 primitive formats, fixed and pattern values,
slicing (value, pattern, type, profile and exists discriminators; closed, open, openAtEnd,
ordered), bindings (required → error, extensible → warning, codes of systems that are not
available locally → information), invariants (FHIRPath, see :mod:`.fhirpath`), reference
target types, extensions against their definitions and contexts, ``meta.profile``, contained
resources and Bundle entries. Each StructureDefinition is compiled once into a tree of
:class:`Node` and cached; validation walks the JSON with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fhir_service.conformance.registry import Registry
from fhir_service.conformance.structure import StructureChecker, _type_code, _upper_first
from fhir_service.conformance.validator import (
    coding,
    fhirpath,
    ranges,
    references,
    resource_rules,
    slicing,
)
from fhir_service.conformance.validator.common import (
    _ABSOLUTE,
    CORE,
    _contains,
    _equal_fixed,
    _from,
    _Run,
)
from fhir_service.conformance.validator.fhirpath import Invariant, InvariantCache
from fhir_service.conformance.validator.plan import (
    Plan,
    cardinality_failures,
    plan_of,
)
from fhir_service.conformance.validator.snapshot import SnapshotGenerator, split_id
from fhir_service.conformance.validator.terminology import Terminology
from fhir_service.conformance.validator.xhtml import check_div
from fhir_service.outcomes import Issue

_XVER = re.compile(r"^http://hl7\.org/fhir/\d\.\d/StructureDefinition/extension-")
_HL7_PACKAGED = ("http://hl7.org/fhir/StructureDefinition/", "http://hl7.org/fhir/tools/")
# the domains whose unknown extensions the reference validator lets pass (a warning): its
# allowUnknownExtension names example.org, acme.com and nema.org (not example.com)
_EXAMPLE = re.compile(r"^https?://([^/]*\.)?(example\.org|acme\.com|nema\.org)(/|$)")
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_URIS = frozenset({"uri", "url", "canonical", "uuid"})
_INTEGERS = frozenset({"integer", "positiveInt", "unsignedInt"})
_CODED = ("code", "Coding", "CodeableConcept", "Quantity", "string", "uri")


class TypeRef:
    __slots__ = ("code", "profiles", "targets")

    def __init__(self, code: str, profiles: tuple[str, ...], targets: tuple[str, ...]) -> None:
        self.code = code
        self.profiles = profiles
        self.targets = targets


class Node:
    """One element of a snapshot, with its children and slices."""

    __slots__ = (
        "array",
        "binding",
        "children",
        "choice",
        "choice_keys",
        "content_ref",
        "fixed",
        "id",
        "invariants",
        "is_modifier",
        "max",
        "max_length",
        "max_value",
        "min",
        "min_value",
        "model",
        "name",
        "path",
        "pattern",
        "plan",
        "slice_name",
        "slices",
        "slicing",
        "type_codes",
        "types",
    )

    def __init__(self, el: dict[str, Any], model: StructureModel, cache: InvariantCache) -> None:
        self.id: str = el["id"]
        self.path: str = el["path"]
        last = self.path.rsplit(".", 1)[-1]
        self.choice = last.endswith("[x]")
        self.name = last[:-3] if self.choice else last
        self.min = int(el.get("min", 0))
        mx = str(el.get("max", "*"))
        self.max: int | None = None if mx == "*" else int(mx)
        base_max = str(el.get("base", {}).get("max", mx))
        self.array = base_max not in ("0", "1")
        self.types = [TypeRef(_type_code(t), tuple(t.get("profile", ())),
                              tuple(t.get("targetProfile", ()))) for t in el.get("type", [])]
        self.type_codes = tuple(t.code for t in self.types)
        self.fixed: Any = None
        self.pattern: Any = None
        self.min_value: tuple[str, Any] | None = None
        self.max_value: tuple[str, Any] | None = None
        for key, value in el.items():
            if key.startswith("fixed"):
                self.fixed = (key[5:], value)
            elif key.startswith("pattern"):
                self.pattern = (key[7:], value)
            elif key.startswith("minValue"):
                self.min_value = (key[8:], value)
            elif key.startswith("maxValue"):
                self.max_value = (key[8:], value)
        binding = el.get("binding")
        self.binding: tuple[str, str] | None = (
            (binding.get("strength", ""), binding["valueSet"])
            if binding and binding.get("valueSet") else None
        )
        self.invariants: list[Invariant] = []
        for c in el.get("constraint", []):
            inv = cache.compile(c)
            if inv is not None:
                self.invariants.append(inv)
        self.slicing: dict[str, Any] | None = el.get("slicing")
        self.slices: list[Node] = []
        self.slice_name: str | None = el.get("sliceName")
        self.children: dict[str, Node] = {}
        self.choice_keys: dict[str, tuple[Node, str]] = {}
        ref = el.get("contentReference")
        self.content_ref: str | None = ref.split("#", 1)[-1] if ref else None
        self.max_length: int | None = el.get("maxLength")
        self.is_modifier = bool(el.get("isModifier"))
        self.model = model
        self.plan: Plan | None = None  # see plan.py: filled on first use

    def add_child(self, child: Node) -> None:
        self.children[child.name] = child
        if child.choice:
            for t in child.type_codes:
                self.choice_keys[child.name + _upper_first(t)] = (child, t)
        else:
            self.choice_keys[child.name] = (child, child.type_codes[0] if child.types else "")


class StructureModel:
    """A compiled StructureDefinition: its root node and nodes by element id."""

    def __init__(self, sd: dict[str, Any], elements: list[dict[str, Any]],
                 cache: InvariantCache) -> None:
        self.url: str = sd.get("url", "")
        self.type: str = sd.get("type", "")
        self.kind: str = sd.get("kind", "")
        self.name: str = sd.get("name", self.url)
        self.contexts: list[dict[str, Any]] = sd.get("context", [])
        self.by_id: dict[str, Node] = {}
        root: Node | None = None
        for el in elements:
            node = Node(el, self, cache)
            self.by_id[node.id] = node
            segs = split_id(node.id)
            if len(segs) == 1:
                root = root or node
                continue
            parent_id = ".".join(segs[:-1])
            name, _, slice_name = segs[-1].partition(":")
            parent = self.by_id.get(parent_id)
            if slice_name:
                outer = f"{parent_id}.{name}"
                if "/" in slice_name:
                    outer = f"{outer}:{slice_name.rsplit('/', 1)[0]}"
                sliced = self.by_id.get(outer)
                if sliced is not None:
                    sliced.slices.append(node)
            elif parent is not None:
                parent.add_child(node)
        assert root is not None, f"empty snapshot for {self.url}"
        self.root = root


class Validator:
    """Validate FHIR R4 JSON against the core definitions and the loaded profiles."""

    def __init__(self, registry: Registry, unknown_extensions: str = "error",
                 allow_example_urls: bool = True, html_in_markdown: str = "warning",
                 check_contained: bool = True,
                 unresolved_reference_types: str = "error",
                 wrong_display: str = "error") -> None:
        """``unknown_extensions``: severity of an extension whose definition is unknown
        (the reference validator says error; on write we say warning so that data carrying
        other IGs' extensions still loads). ``html_in_markdown``: severity of what looks like
        an HTML tag in a markdown value (the reference validator's default is warning, error
        with its option noHtmlInMarkdown). ``check_contained``: False leaves contained
        resources unchecked (the reference validator's validateContains IGNORE).
        ``unresolved_reference_types``: severity of a literal reference (``Substance/1``)
        whose type is not a target of the element, when the target is not in the resource or
        its Bundle; the reference validator run without a resolver (its command line) does
        not check those ("warning" compares with it), references that resolve it does.
        ``wrong_display``: severity of a Coding.display that the local code system does not
        give the code (the reference validator's default is error)."""
        self.html_in_markdown = html_in_markdown
        self.check_contained = check_contained
        self.unresolved_reference_types = unresolved_reference_types
        self.wrong_display = wrong_display
        # (system, code) -> (displays, normalised displays) of local code systems
        self._displays: dict[tuple[str, str], tuple[tuple[str, ...], frozenset[str]]] = {}
        self.registry = registry
        self.unknown_extensions = unknown_extensions
        # extensions of example domains (_EXAMPLE) that are not known here are a warning, as
        # the reference validator allows them
        self.allow_example_urls = allow_example_urls
        self.snapshots = SnapshotGenerator(registry)
        self.terminology = Terminology(registry)
        self.invariants = InvariantCache()
        self.checker = StructureChecker(registry)
        self._models: dict[str, StructureModel | None] = {}
        self._type_models: dict[str, StructureModel | None] = {}
        fhirpath.set_terminology(self.terminology)

    # --- definitions ---------------------------------------------------------------------

    def model(self, url: str) -> StructureModel | None:
        if url in self._models:
            return self._models[url]
        sd = self.registry.by_url(url) or self.registry.by_url(url.split("|", 1)[0])
        model = None
        if sd is not None and sd.get("resourceType") == "StructureDefinition":
            elements = self.snapshots.snapshot(sd)
            if elements:
                model = StructureModel(sd, elements, self.invariants)
        self._models[url] = model
        return model

    def type_model(self, type_name: str) -> StructureModel | None:
        if type_name in self._type_models:
            return self._type_models[type_name]
        sd = self.registry.type_definition(type_name)
        url = sd["url"] if sd is not None else CORE + type_name  # Element has no derivation
        model = self.model(url)
        self._type_models[type_name] = model
        return model

    def knows_profile(self, url: str) -> bool:
        return self.model(url) is not None

    # --- entry points --------------------------------------------------------------------

    def validate(self, resource: Any, profiles: Iterable[str] = (),
                 meta_profiles: bool = True, base: bool = True) -> list[Issue]:
        """Every issue found: against the base type, ``profiles`` and (if ``meta_profiles``)
        the profiles the resource claims in ``meta.profile``."""
        if not isinstance(resource, dict):
            return [Issue("fatal", "structure", "A resource must be a JSON object", ("$",))]
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str) or self.type_model(rtype) is None or (
            self.registry.type_definition(rtype) or {}
        ).get("kind") != "resource":
            return [Issue("fatal", "structure", f"Unknown resourceType '{rtype}'",
                          ("resourceType",))]
        run = _Run(resource if rtype == "Bundle" else None)
        old = fhirpath.set_scope(resource, resource, run.bundle)
        try:
            self._resource(run, resource, rtype, list(profiles), meta_profiles, base,
                           resource)
        finally:
            fhirpath.restore_scope(old)
        return _dedupe(run.issues)

    def _resource(self, run: _Run, res: dict[str, Any], expr: str, profiles: list[str],
                  meta_profiles: bool, base: bool, root: dict[str, Any]) -> None:
        rtype = res.get("resourceType")
        base_model = self.type_model(rtype) if isinstance(rtype, str) else None
        if not isinstance(rtype, str) or base_model is None or base_model.kind != "resource":
            run.add("error", "structure", f"Unknown resourceType '{rtype}'", expr)
            return
        models: list[StructureModel] = []
        wanted = list(profiles)
        if meta_profiles:
            meta = res.get("meta")
            claimed = meta.get("profile") if isinstance(meta, dict) else None
            if isinstance(claimed, list):
                wanted.extend(p for p in claimed if isinstance(p, str))
        for url in dict.fromkeys(wanted):
            model = self.model(url)
            if model is None:
                run.add("warning", "not-found",
                        f"Profile {url} is not known here: the resource was not checked "
                        "against it", f"{expr}.meta.profile" if url not in profiles else expr)
                continue
            if model.type != rtype:
                run.add("error", "invalid", f"Profile {url} is for {model.type}, not {rtype}",
                        expr)
                continue
            models.append(model)
        if not models:  # no profile (known): the base definition of the type
            models.insert(0, base_model)
        scope = fhirpath.set_scope(res, root, run.bundle)
        try:
            for model in models:
                run.profile = model.url
                self._complex(run, res, model.root, rtype, expr, res, root, is_resource=True)
                self._invariants(run, res, model.root, rtype, expr, res, root)
        finally:
            fhirpath.restore_scope(scope)
        resource_rules.domain_rules(self, run, res, expr, root)

    # --- objects -------------------------------------------------------------------------

    def _children_of(self, node: Node, tname: str) -> tuple[Node, StructureModel] | None:
        """The node whose children describe a value of ``node`` with type ``tname``."""
        if node.children:
            return node, node.model
        cache = plan_of(node).children_of
        if tname not in cache:
            cache[tname] = self._find_children_of(node, tname)
        return cache[tname]

    def _find_children_of(self, node: Node, tname: str) -> tuple[Node, StructureModel] | None:
        if node.content_ref:
            # the referenced element of the base definition: a profile's constraints on it do
            # not follow the reference (elementdefinition.html#ElementDefinition.contentReference)
            base = self.type_model(node.content_ref.split(".", 1)[0])
            target = base.by_id.get(node.content_ref) if base else None
            if target is None:
                target = node.model.by_id.get(node.content_ref)
            if target is not None:
                return target, target.model
            return None
        for t in node.types:
            if t.code == tname and len(t.profiles) == 1:
                model = self.model(t.profiles[0])
                if model is not None:
                    return model.root, model
        model = self.type_model(tname) if tname else None
        if model is None:
            return None
        return model.root, model

    def _complex(self, run: _Run, obj: dict[str, Any], node: Node, tname: str, expr: str,
                 resource: dict[str, Any], root: dict[str, Any],
                 is_resource: bool = False, owner: str | None = None) -> None:
        keys = node.choice_keys
        counts: dict[str, int] = {}
        for key, value in obj.items():
            if is_resource and key == "resourceType":
                continue
            prim_ext = key[:1] == "_"
            name = key[1:] if prim_ext else key
            found = keys.get(name)
            loc = f"{expr}.{name}"
            if found is None:
                run.add("error", "structure", f"Unknown element '{key}' at {expr}"
                        f" ({node.path})", loc)
                continue
            child, ctype = found
            items = value if isinstance(value, list) else [value]
            if isinstance(value, list) != child.array:
                if child.array:
                    run.add("error", "structure",
                            f"'{name}' must be a JSON array (max {child.max or '*'})", loc)
                else:
                    run.add("error", "structure", f"'{name}' must not be a JSON array", loc)
                    continue
            if not items:
                run.add("error", "structure", "Arrays must not be empty", loc)
                continue
            n = len(items) - items.count(None)
            if n > counts.get(child.name, 0):
                counts[child.name] = n
            if prim_ext:
                for i, item in enumerate(items):
                    if isinstance(item, dict):
                        self._element_extensions(run, item, child, ctype,
                                                 f"{loc}[{i}]" if child.array else loc,
                                                 resource, root)
                continue
            if name in ("extension", "modifierExtension"):
                self._contexts(run, items, owner or node.path, tname,
                               obj.get("url") if tname == "Extension" else None, loc)
            if child.slices or child.slicing:
                slicing.sliced(self, run, items, child, ctype, loc, resource, root)
                continue
            if child.array:
                for i, item in enumerate(items):
                    if item is not None:
                        self._item(run, item, child, ctype, f"{loc}[{i}]", resource, root)
                    elif not self.checker.is_primitive(ctype) or not _has_element(obj, key, i):
                        # json.html#primitive: null only holds the place of an item whose
                        # id or extensions are in the _name array
                        run.add("error", "structure", "null is not allowed here", f"{loc}[{i}]")
            elif value is None:
                run.add("error", "structure", "null is not allowed here", loc)
            else:
                self._item(run, value, child, ctype, loc, resource, root)
        for name, child, n in cardinality_failures(node, counts):
            if n < child.min:
                shown = f"{name}[x]" if child.choice else name
                run.add("error", "required",
                        f"{child.path}: minimum required = {child.min}, but only found {n}"
                        f"{_from(run)}", f"{expr}.{shown}" if n else expr)
            elif child.max is not None and n > child.max:
                run.add("error", "structure",
                        f"{child.path}: max allowed = {child.max}, but found {n}{_from(run)}",
                        f"{expr}.{name}")

    def _item(self, run: _Run, item: Any, node: Node, tname: str, expr: str,
              resource: dict[str, Any], root: dict[str, Any]) -> None:
        if node.content_ref and not node.children:
            target = self._children_of(node, tname)
            if target is not None:
                tnode = target[0]
                if not isinstance(item, dict) or not item:
                    run.add("error", "structure", "Expected a non-empty object", expr)
                    return
                self._complex(run, item, tnode, tname, expr, resource, root)
                self._invariants(run, item, tnode, tnode.path, expr, resource, root)
                return
        if self.checker.is_primitive(tname):
            before = len(run.issues)
            self.checker._check_primitive(item, tname, expr, run.issues)
            if len(run.issues) > before:
                return
            if node.fixed is not None and item != node.fixed[1]:
                run.add("error", "value", f"Value is '{item}' but must be '{node.fixed[1]}'"
                        f"{_from(run)}", expr)
            if node.pattern is not None and item != node.pattern[1]:
                run.add("error", "value", f"Value is '{item}' but must be '{node.pattern[1]}'"
                        f"{_from(run)}", expr)
            if type(item) is int and not -2**31 <= item < 2**31 and tname in _INTEGERS:
                run.add("error", "value", f"The value {str(item)[:40]} is outside the range of a "
                        "32-bit integer", expr)  # datatypes.html#integer
            if tname == "markdown" and isinstance(item, str):
                self._markdown(run, item, expr)
            elif isinstance(item, str) and item.startswith("urn:uuid:") and tname in _URIS and (
                not _UUID.match(item[9:])
            ):
                run.add("error", "invalid", f"UUIDs must be valid and lowercase ({item[9:]})",
                        expr)
            elif tname == "canonical" and isinstance(item, str) and not item.startswith("#") \
                    and not _ABSOLUTE.match(item) and not expr.endswith(".url"):
                # https://hl7.org/fhir/R4/references.html#canonical (the resource's own url:
                # _canonical_url, which says so for contained resources too)
                run.add("error", "invalid", "Canonical URLs must be absolute URLs if they are "
                        f"not fragment references ({item[:120]})", expr)
            if node.min_value is not None or node.max_value is not None:
                self._value_range(run, item, node, expr)
            if node.max_length and isinstance(item, str) and len(item) > node.max_length:
                run.add("error", "too-long", f"Longer than the maximum length "
                        f"{node.max_length}", expr)
            if node.binding is not None and tname in _CODED:
                coding.check_binding(self, run, item, tname, node, expr)
            if node.invariants:
                self._invariants(run, item, node, tname, expr, resource, root)
            return
        if not isinstance(item, dict):
            run.add("error", "structure", f"Expected a JSON object for {node.path} ({tname})",
                    expr)
            return
        if not item:
            run.add("error", "structure", "Objects must not be empty", expr)
            return
        if tname in ("Resource", "DomainResource") or (
            "resourceType" in item and (m := self.type_model(tname)) is not None
            and m.kind == "resource"
        ):
            self._nested_resource(run, item, node, expr, resource, root)
            return
        if node.fixed is not None and not _equal_fixed(item, node.fixed[1]):
            run.add("error", "value", f"Value does not equal the fixed value {node.path}"
                    f"{_from(run)}", expr)
        if node.pattern is not None and not _contains(item, node.pattern[1]):
            run.add("error", "value", f"Value does not match the pattern of {node.path}"
                    f"{_from(run)}", expr)
        if node.binding is not None and tname in _CODED:
            coding.check_binding(self, run, item, tname, node, expr)
        if node.min_value is not None or node.max_value is not None:
            self._value_range(run, item, node, expr)
        if tname == "Coding":
            # in R4 only CodeableConcept.coding is named coding
            coding.check_coding(self, run, item, expr, in_concept=node.name == "coding")
        elif tname == "CodeableConcept":
            for i, c in enumerate(item.get("coding", []) or []):
                if isinstance(c, dict):
                    coding.check_coding(self, run, c, f"{expr}.coding[{i}]", in_concept=True)
        elif tname == "Reference":
            references.check_reference(self, run, item, node, expr, resource, root)
        elif tname == "Extension":
            self._extension_rules(run, item, expr)
        elif tname == "Attachment":
            resource_rules.check_attachment(self, run, item, expr)
        elif tname == "Period":
            start, end = item.get("start"), item.get("end")
            if isinstance(start, str) and isinstance(end, str) and not _before(start, end):
                run.add("error", "invariant", "Constraint failed: per-1: 'If present, start SHALL "
                        "have a lower value than end'", expr)
        elif tname == "Narrative":
            div = item.get("div")
            if isinstance(div, str):
                for problem in check_div(div):
                    # txt-2 (whitespace only) is an error like txt-1 (R4 defines both with
                    # severity error; 4 of the package's definitions break it)
                    run.add("error", "invariant", f"Narrative: {problem}", f"{expr}.div")
        target = self._children_of(node, tname)
        if target is None:
            return
        tnode, _ = target
        type_path = tname if tnode is not node and tnode.path == tname else tnode.path
        if tname == "Extension" and not node.children and not any(
            t.profiles for t in node.types
        ):
            ext_model = self._extension_model(run, item, expr, node)
            if ext_model is not None:
                tnode = ext_model.root
        self._complex(run, item, tnode, tname, expr, resource, root, owner=node.path)
        if node.invariants:
            self._invariants(run, item, node, type_path, expr, resource, root)
        if tnode is not node and tnode.invariants:
            self._invariants(run, item, tnode, type_path, expr, resource, root)

    def _nested_resource(self, run: _Run, item: dict[str, Any], node: Node, expr: str,
                         resource: dict[str, Any], root: dict[str, Any]) -> None:
        profiles: list[str] = []
        for t in node.types:
            profiles.extend(t.profiles)
        rtype = item.get("resourceType")
        if not isinstance(rtype, str):
            run.add("error", "structure", "A resource needs a resourceType", expr)
            return
        contained = node.name == "contained"
        if contained and not self.check_contained:
            return
        saved = run.profile
        self._resource(run, item, f"{expr}", [p for p in profiles
                                               if (m := self.model(p)) and m.type == rtype],
                       True, True, root if contained else item)
        run.profile = saved

    def _invariants(self, run: _Run, item: Any, node: Node, type_path: str, expr: str,
                    resource: dict[str, Any], root: dict[str, Any]) -> None:
        for inv in node.invariants:
            if inv.problem is not None:
                run.add("information", "informational",
                        f"Invariant {inv.key} unchecked: {inv.problem}", expr)
                continue
            ok = fhirpath.evaluate(inv, item, type_path, resource, root)
            if ok is None:
                run.add("information", "informational",
                        f"Invariant {inv.key} unchecked: it uses something that cannot be "
                        "evaluated here", expr)
            elif not ok:
                severity = "error" if inv.severity == "error" else "warning"
                run.add(severity, "invariant",
                        f"Constraint failed: {inv.key}: '{inv.human}'{_from(run)}", expr)

    # --- slicing -------------------------------------------------------------------------


    def _conforms(self, item: Any, s: Node, tname: str) -> bool:
        sub = _Run()
        self._item(sub, item, s, tname, "x", {}, {})
        return not any(i.severity in ("error", "fatal") for i in sub.issues)


    def _child(self, node: Node, name: str, tname: str) -> Node | None:
        if name in node.children:
            return node.children[name]
        target = self._children_of(node, node.type_codes[0] if len(node.types) == 1 else tname)
        if target is None:
            return None
        return target[0].children.get(name)


    # --- primitives ----------------------------------------------------------------------

    def _markdown(self, run: _Run, text: str, expr: str) -> None:
        """Markdown is rendered, so an HTML tag in it is either escaped or injected
        (https://hl7.org/fhir/R4/datatypes.html#markdown)."""
        m = _HTML_TAG.search(text)
        if m is not None:
            run.add(self.html_in_markdown, "invalid",
                    "The markdown contains content that appears to be an embedded HTML tag "
                    f"starting at '{text[m.start():m.start() + 2]}': it will (or should) be "
                    "escaped by the presentation layer", expr)

    def _value_range(self, run: _Run, item: Any, node: Node, expr: str) -> None:
        """ElementDefinition.minValue[x] / maxValue[x] (inclusive): numbers, dates and times,
        and quantities compared after UCUM conversion (ranges.compare_bound)."""
        for bound, word in ((node.min_value, "less"), (node.max_value, "greater")):
            if bound is None:
                continue
            cmp = ranges.compare_bound(item, bound[0], bound[1], is_max=word == "greater")
            if cmp is None:
                continue
            if (word == "less" and cmp < 0) or (word == "greater" and cmp > 0):
                shown = ranges.show(item)
                kind = "minValue" if word == "less" else "maxValue"
                run.add("error", "value", f"The value in the instance ({shown}) is {word} than "
                        f"the specified {kind} ({ranges.show(bound[1])}){_from(run)}", expr)

    # --- terminology ---------------------------------------------------------------------


    # --- references ----------------------------------------------------------------------

    def _profile_type(self, url: str) -> str:
        sd = self.registry.by_url(url)
        if sd is not None and isinstance(sd.get("type"), str):
            return str(sd["type"])
        return url.rsplit("/", 1)[-1]


    # --- extensions ----------------------------------------------------------------------


    def _extension_rules(self, run: _Run, item: dict[str, Any], expr: str) -> None:
        has_value = any(k.startswith("value") for k in item)
        has_ext = bool(item.get("extension"))
        if has_value == has_ext:
            run.add("error", "invariant",
                    "Constraint failed: ext-1: 'Must have either extensions or value[x], not "
                    "both'", expr)
        if not isinstance(item.get("url"), str):
            run.add("error", "required", "An extension needs a url", expr)

    def _extension_model(self, run: _Run, item: dict[str, Any], expr: str,
                         node: Node) -> StructureModel | None:
        url = item.get("url")
        if not isinstance(url, str) or (node.path.endswith(".extension") and (
            node.model.type == "Extension" and node.path.count(".") == 1 and "://" not in url
        )):
            return None
        model = self.model(url)
        modifier = node.name == "modifierExtension"
        if model is None or model.type != "Extension":
            if "://" not in url and not url.startswith("urn:"):
                # only a sub-extension's url is a name (returned above); any other is an
                # absolute URL (https://hl7.org/fhir/R4/extensibility.html#Extension)
                run.add("error", "value", f"Extension.url must be an absolute URL ('{url}')",
                        f"{expr}.url")
                return None
            if _XVER.match(url):
                return None
            severity = "error" if modifier else self.unknown_extensions
            if not modifier and (url.startswith(_HL7_PACKAGED) or (
                self.allow_example_urls and _EXAMPLE.match(url))):
                severity = "warning"  # published in extension packages we do not load
            run.add(severity, "structure",
                    f"The extension {url} is not known here"
                    + (", and modifier extensions must be understood" if modifier else ""),
                    expr)
            return None
        return model

    def _element_extensions(self, run: _Run, item: dict[str, Any], node: Node, tname: str,
                            expr: str, resource: dict[str, Any], root: dict[str, Any]) -> None:
        """The ``_name`` part of a primitive: id and extensions."""
        model = self.type_model("Element")
        if model is not None:
            self._complex(run, item, model.root, tname, expr, resource, root, owner=node.path)

    def _contexts(self, run: _Run, items: list[Any], owner: str, owner_type: str,
                  parent_url: str | None, loc: str) -> None:
        for i, ext in enumerate(items):
            url = ext.get("url") if isinstance(ext, dict) else None
            if not isinstance(url, str):
                continue
            model = self.model(url)
            if model is None or model.type != "Extension":
                continue
            if not self.check_context(model, owner, owner_type, parent_url):
                allowed = ", ".join(c.get("expression", "") for c in model.contexts)
                run.add("error", "structure",
                        f"The extension {url} is not allowed at {owner} (allowed: {allowed})",
                        f"{loc}[{i}]")

    def check_context(self, model: StructureModel, owner_path: str, owner_type: str,
                      parent_url: str | None) -> bool:
        if not model.contexts:
            return True
        for c in model.contexts:
            ctype, e = c.get("type"), c.get("expression", "")
            if ctype == "element":
                if e in ("Element", "Resource", "DomainResource", "Base", owner_type,
                         owner_path) or owner_path.endswith("." + e) or e.startswith(
                             owner_path + ".") or (
                    owner_path.split(".", 1)[0] == e and owner_path == e
                ):
                    return True
            elif ctype == "extension":
                if parent_url == e:
                    return True
            else:
                return True
        return False

    # --- resource-level rules ------------------------------------------------------------


def _has_element(obj: dict[str, Any], key: str, i: int) -> bool:
    """Does ``_key[i]`` (the id and extensions of item i of a primitive array) hold content?"""
    ext = obj.get("_" + key)
    return isinstance(ext, list) and i < len(ext) and isinstance(ext[i], dict) and bool(ext[i])


def _date_parts(value: str) -> tuple[list[str], str | None]:
    """Components (year … fraction) and timezone of a date/dateTime/instant."""
    m = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
                 r"(Z|[+-]\d{2}:\d{2})?)?$", value)
    if not m:
        return [], None
    parts = [g for g in m.groups()[:7] if g is not None]
    return parts, m.group(8)


def _before(start: str, end: str) -> bool:
    """start <= end in FHIRPath terms; different precisions that agree on their common
    part are indeterminate (empty), which fails the invariant as it does in Java."""
    from datetime import datetime

    a, tza = _date_parts(start)
    b, tzb = _date_parts(end)
    if not a or not b:
        return True
    if len(a) > 3 and len(b) > 3 and (tza or tzb):
        def instant(p: list[str], tz: str | None) -> datetime:
            text = f"{p[0]}-{p[1]}-{p[2]}T{p[3]}:{p[4]}:{p[5] if len(p) > 5 else '00'}"
            return datetime.fromisoformat(text + ({"Z": "+00:00"}.get(tz or "Z", tz or "")))
        try:
            return instant(a, tza) <= instant(b, tzb)
        except ValueError:
            return True
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return len(a) == len(b)
    return a[:n] < b[:n]


def _dedupe(issues: list[Issue]) -> list[Issue]:
    seen: set[tuple[str, str, str, tuple[str, ...]]] = set()
    out = []
    for i in issues:
        key = (i.severity, i.code, i.diagnostics, i.expression)
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out
