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

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Any

from fhir_service.conformance.registry import Registry
from fhir_service.conformance.structure import StructureChecker, _type_code, _upper_first
from fhir_service.conformance.validator import definitions, fhirpath, ranges
from fhir_service.conformance.validator.fhirpath import Invariant, InvariantCache
from fhir_service.conformance.validator.plan import (
    Plan,
    cardinality_failures,
    plan_of,
    reference_targets,
)
from fhir_service.conformance.validator.snapshot import SnapshotGenerator, split_id
from fhir_service.conformance.validator.terminology import Terminology
from fhir_service.conformance.validator.xhtml import check_div
from fhir_service.outcomes import Issue

CORE = "http://hl7.org/fhir/StructureDefinition/"
_PATH_TOKEN = re.compile(r"extension\('([^']*)'\)|ofType\((\w+)\)|resolve\(\)|[^.]+")
_XVER = re.compile(r"^http://hl7\.org/fhir/\d\.\d/StructureDefinition/extension-")
_HL7_PACKAGED = ("http://hl7.org/fhir/StructureDefinition/", "http://hl7.org/fhir/tools/")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# the domains whose unknown extensions the reference validator lets pass (a warning): its
# allowUnknownExtension names example.org, acme.com and nema.org (not example.com)
_EXAMPLE = re.compile(r"^https?://([^/]*\.)?(example\.org|acme\.com|nema\.org)(/|$)")
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
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


class _Run:
    """State of one validation: issues found and the resources in scope."""

    __slots__ = ("bundle", "guard", "issues", "profile")

    def __init__(self, bundle: dict[str, Any] | None = None,
                 guard: set[tuple[int, str]] | None = None) -> None:
        self.issues: list[Issue] = []
        self.bundle = bundle
        self.profile = ""
        # (resource, profile) conformance checks under way: references that loop end there
        self.guard: set[tuple[int, str]] = guard if guard is not None else set()

    def add(self, severity: str, code: str, message: str, expr: str) -> None:
        self.issues.append(Issue(severity, code, message, (expr,)))


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
        self._domain_rules(run, res, expr, root)

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
                self._sliced(run, items, child, ctype, loc, resource, root)
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
                self._binding(run, item, tname, node, expr)
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
            self._binding(run, item, tname, node, expr)
        if node.min_value is not None or node.max_value is not None:
            self._value_range(run, item, node, expr)
        if tname == "Coding":
            # in R4 only CodeableConcept.coding is named coding
            self._coding(run, item, expr, in_concept=node.name == "coding")
        elif tname == "CodeableConcept":
            for i, c in enumerate(item.get("coding", []) or []):
                if isinstance(c, dict):
                    self._coding(run, c, f"{expr}.coding[{i}]", in_concept=True)
        elif tname == "Reference":
            self._reference(run, item, node, expr, resource, root)
        elif tname == "Extension":
            self._extension_rules(run, item, expr)
        elif tname == "Attachment":
            self._attachment(run, item, expr)
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

    def _sliced(self, run: _Run, items: list[Any], node: Node, tname: str, expr: str,
                resource: dict[str, Any], root: dict[str, Any]) -> None:
        slicing = node.slicing or {}
        discs = slicing.get("discriminator", [])
        rules = slicing.get("rules", "open")
        ordered = bool(slicing.get("ordered", False))
        counts = [0] * len(node.slices)
        last = -1
        unmatched_seen = False
        for i, item in enumerate(items):
            loc = f"{expr}[{i}]" if node.array else expr
            if item is None:
                continue
            matched = None
            for si, s in enumerate(node.slices):
                if self._matches(run, item, s, discs, tname):
                    matched = si
                    break
            if matched is None:
                unmatched_seen = True
                if rules == "closed":
                    run.add("error", "structure",
                            f"This element does not match any known slice of {node.path} and "
                            f"the slicing is closed{_from(run)}", loc)
                self._item(run, item, node, tname, loc, resource, root)
                continue
            counts[matched] += 1
            if ordered and matched < last:
                run.add("error", "structure", f"The slices of {node.path} are out of order"
                        f"{_from(run)}", loc)
            if rules == "openAtEnd" and unmatched_seen:
                run.add("error", "structure", f"Unmatched items of {node.path} must come after "
                        f"the slices (openAtEnd){_from(run)}", loc)
            last = max(last, matched)
            self._item(run, item, node.slices[matched], tname, loc, resource, root)
        total = sum(1 for i in items if i is not None)
        for si, s in enumerate(node.slices):
            n = counts[si]
            if n < s.min:
                run.add("error", "structure",
                        f"Slice '{node.path}:{s.slice_name}': minimum required = {s.min}, but "
                        f"only found {n}{_from(run)}", expr if total else expr.rsplit(".", 1)[0])
            elif s.max is not None and n > s.max:
                run.add("error", "structure",
                        f"Slice '{node.path}:{s.slice_name}': max allowed = {s.max}, but found "
                        f"{n}{_from(run)}", expr)

    def _matches(self, run: _Run, item: Any, s: Node, discs: list[dict[str, Any]],
                 tname: str) -> bool:
        if not discs:
            return self._conforms(item, s, tname)
        constrained = 0
        for d in discs:
            dtype, path = d.get("type"), d.get("path", "$this")
            if dtype in ("value", "pattern"):
                expected = self._disc_expected(s, path, tname)
                if expected is None:
                    continue  # this slice does not constrain this discriminator
                constrained += 1
                kind, value = expected
                actual = _walk(item, path)
                if kind == "binding":
                    ok = any(self._in_valueset(value, a) for a in actual)
                elif kind == "fixed":
                    ok = any(a == value for a in actual)
                else:
                    ok = any(_contains(a, value) for a in actual)
                if not ok:
                    return False
            elif dtype == "exists":
                target = self._disc_node(s, path, tname)
                if target is None:
                    return False
                present = bool(_walk(item, path))
                if target.min >= 1 and not present:
                    return False
                if target.max == 0 and present:
                    return False
            elif dtype == "type":
                target = self._disc_node(s, path, tname) if path != "$this" else s
                allowed = {t.code for t in target.types} if target is not None else set()
                if path.endswith("resolve()"):
                    refs = _walk(item, path[: -len(".resolve()")] if "." in path else "$this")
                    got = {_ref_type(r.get("reference") if isinstance(r, dict) else r)
                           for r in refs}
                    allowed = {self._profile_type(p) for t in (target.types if target else [])
                               for p in t.targets}
                    if not got & allowed:
                        return False
                    constrained += 1
                    continue
                values = _walk(item, path)
                got = set()
                for v in values:
                    if isinstance(v, dict) and "resourceType" in v:
                        got.add(v["resourceType"])
                if path == "$this" and not got:
                    got.add(tname)
                if not got & allowed and not (allowed and not got):
                    return False
            elif dtype == "profile":
                target = self._disc_node(s, path, tname) if path != "$this" else s
                if target is None:
                    return False
                profiles = [p for t in target.types for p in (t.profiles or t.targets)]
                values = _walk(item, path)
                if not values or not profiles:
                    return False
                if not any(self._conforms_profile(v, p, run) for v in values for p in profiles):
                    return False
            else:
                return False
            if dtype not in ("value", "pattern"):
                constrained += 1
        return constrained > 0

    def _conforms(self, item: Any, s: Node, tname: str) -> bool:
        sub = _Run()
        self._item(sub, item, s, tname, "x", {}, {})
        return not any(i.severity in ("error", "fatal") for i in sub.issues)

    def _conforms_profile(self, value: Any, url: str, run: _Run | None = None) -> bool:
        model = self.model(url)
        if model is None:
            return False
        if isinstance(value, dict) and "resourceType" in value:
            if run is not None:  # in the Bundle being validated: its references resolve
                return self._resource_conforms(run, value, url)
            issues = self.validate(value, [url], meta_profiles=False)
        else:
            sub = _Run()
            if isinstance(value, dict):
                self._complex(sub, value, model.root, model.type, "x", {}, {})
            issues = sub.issues
        return not any(i.severity in ("error", "fatal") for i in issues)

    def _resource_conforms(self, run: _Run, res: dict[str, Any], url: str) -> bool:
        """Does ``res`` (contained, or an entry of the Bundle of ``run``) conform to the
        profile ``url``? A check already under way for the same pair counts as conforming."""
        key = (id(res), url)
        if key in run.guard:
            return True
        run.guard.add(key)
        try:
            sub = _Run(run.bundle, run.guard)
            scope = fhirpath.set_scope(res, res, run.bundle)
            try:
                self._resource(sub, res, str(res.get("resourceType")), [url], False, False,
                               res)
            finally:
                fhirpath.restore_scope(scope)
        finally:
            run.guard.discard(key)
        return not any(i.severity in ("error", "fatal") for i in sub.issues)

    def _disc_node(self, s: Node, path: str, tname: str) -> Node | None:
        node: Node | None = s
        for m in _PATH_TOKEN.finditer(path):
            tok = m.group(0)
            if tok == "$this" or node is None:
                continue
            if m.group(1) is not None:  # extension('url')
                ext = self._child(node, "extension", "Extension")
                if ext is None:
                    return None
                url = m.group(1)
                node = next((sl for sl in ext.slices if any(url in t.profiles
                                                            for t in sl.types)), None)
                continue
            if m.group(2) is not None:  # ofType(T): restrict, keep the node
                continue
            if tok == "resolve()":
                continue
            node = self._child(node, tok, node.type_codes[0] if node.type_codes else tname)
            if node is not None and node.slices and m.end() < len(path):
                # the path goes through a sliced element: its required (or only) slice fixes it
                required = [sl for sl in node.slices if sl.min >= 1]
                if len(required) == 1 or len(node.slices) == 1:
                    node = (required or node.slices)[0]
        return node

    def _child(self, node: Node, name: str, tname: str) -> Node | None:
        if name in node.children:
            return node.children[name]
        target = self._children_of(node, node.type_codes[0] if len(node.types) == 1 else tname)
        if target is None:
            return None
        return target[0].children.get(name)

    def _disc_expected(self, s: Node, path: str, tname: str) -> tuple[str, Any] | None:
        if path == "url" and s.types and any(t.profiles for t in s.types) and (
            "url" not in s.children or s.children["url"].fixed is None
        ):
            return "fixed", s.types[0].profiles[0]
        target = s if path == "$this" else self._disc_node(s, path, tname)
        if target is None:
            return None
        if target.fixed is not None:
            return "fixed", target.fixed[1]
        if target.pattern is not None:
            return "pattern", target.pattern[1]
        if target.binding is not None and target.binding[0] == "required":
            return "binding", target.binding[1]
        return None

    def _in_valueset(self, vs: str, value: Any) -> bool:
        exp = self.terminology.expand(vs)
        if exp is None:
            return False
        if isinstance(value, str):
            return exp.contains(None, value) is True
        if isinstance(value, dict):
            codings = value.get("coding") if "coding" in value else [value]
            return any(isinstance(c, dict) and exp.contains(c.get("system"),
                                                             str(c.get("code"))) is True
                       for c in codings or [])
        return False

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

    def _binding(self, run: _Run, item: Any, tname: str, node: Node, expr: str) -> None:
        assert node.binding is not None
        strength, vs = node.binding
        if strength not in ("required", "extensible"):
            return
        pairs: list[tuple[str | None, str]] = []
        if isinstance(item, str):
            pairs = [(None, item)]
        elif tname == "CodeableConcept":
            pairs = [(c.get("system"), c["code"]) for c in item.get("coding", []) or []
                     if isinstance(c, dict) and isinstance(c.get("code"), str)]
            if not pairs:
                if strength == "required" and item.get("coding") is None:
                    run.add("error", "code-invalid",
                            f"No code provided, and a code is required from the value set {vs}"
                            f"{_from(run)}", expr)
                return
        elif isinstance(item, dict) and isinstance(item.get("code"), str):
            pairs = [(item.get("system"), item["code"])]
        if not pairs:
            return
        exp = self.terminology.expand(vs)
        if exp is None:
            run.add("warning", "not-found", f"The value set {vs} is not known here: the code was "
                    "not checked", expr)
            return
        results = [exp.contains(s, c) for s, c in pairs]
        if True in results:
            return
        shown = ", ".join(f"{s}#{c}" if s else c for s, c in pairs)
        if None in results:
            run.add("information", "informational",
                    f"The code {shown} could not be checked against {vs}: its code system is not "
                    "available here", expr)
            return
        severity = "error" if strength == "required" else "warning"
        run.add(severity, "code-invalid",
                f"The code {shown} is not in the value set {vs} ({strength} binding)"
                f"{_from(run)}", expr)

    def _coding(self, run: _Run, coding: dict[str, Any], expr: str,
                in_concept: bool = False) -> None:
        system, code = coding.get("system"), coding.get("code")
        if isinstance(system, str) and self._coding_system(run, system, f"{expr}.system",
                                                           in_concept):
            return
        if not isinstance(system, str) or not isinstance(code, str):
            return
        known = self.terminology.check_code(system, code)
        if known is False:
            run.add("error", "code-invalid",
                    f"Unknown code '{code}' in the code system '{system}'", f"{expr}.code")
        elif known and isinstance(coding.get("display"), str):
            self._display(run, system, code, coding["display"], f"{expr}.display")

    def _display(self, run: _Run, system: str, code: str, display: str, expr: str) -> None:
        """Coding.display is one of the displays the code system gives the code (its display
        or a designation), case and spacing aside, as the reference validator checks it
        (https://hl7.org/fhir/R4/datatypes.html#Coding)."""
        key = (system, code)
        valid = self._displays.get(key)
        if valid is None:
            cs = self.terminology.code_system(system)
            concept = cs.find(code) if cs is not None else None
            shown = [concept.display] if concept is not None and concept.display else []
            shown += [str(d["value"]) for d in (concept.designations if concept else [])
                      if isinstance(d, dict) and isinstance(d.get("value"), str)]
            valid = (tuple(dict.fromkeys(str(v) for v in shown)),
                     frozenset(_norm(str(v)) for v in shown))
            self._displays[key] = valid
        if not valid[0] or display in valid[0] or _norm(display) in valid[1]:
            return
        choices = " or ".join(f"'{v}'" for v in valid[0])
        run.add(self.wrong_display, "invalid", f"Wrong Display Name '{display}' for "
                f"{system}#{code}. "
                f"Valid display is {choices}", expr)

    def _coding_system(self, run: _Run, system: str, expr: str,
                       in_concept: bool = False) -> bool:
        """Coding.system names a code system by its absolute canonical URL
        (https://hl7.org/fhir/R4/datatypes.html#Coding): not a local reference, not a value
        set, not a supplement. True when it does not (an issue was reported). A local
        reference is an error on a Coding element, a warning inside a CodeableConcept, where
        the reference validator reports it only as a code system it cannot find."""
        if not _ABSOLUTE.match(system):
            run.add("warning" if in_concept else "error", "invalid", "Coding.system must be "
                    f"an absolute reference, not a local reference ('{system}')", expr)
            return True
        res = self.registry.by_url(system)
        if res is None:
            return False
        if res.get("resourceType") == "ValueSet":
            run.add("error", "invalid", "The Coding references a value set, not a code system "
                    f"('{system}')", expr)
            return True
        if res.get("resourceType") == "CodeSystem" and (
            res.get("content") == "supplement" or "supplements" in res
        ):
            run.add("error", "invalid", f"CodeSystem {system} is a supplement, so it cannot be "
                    "used as a value in Coding.system", expr)
            return True
        return False

    # --- references ----------------------------------------------------------------------

    def _profile_type(self, url: str) -> str:
        sd = self.registry.by_url(url)
        if sd is not None and isinstance(sd.get("type"), str):
            return str(sd["type"])
        return url.rsplit("/", 1)[-1]

    def _reference(self, run: _Run, item: dict[str, Any], node: Node, expr: str,
                   resource: dict[str, Any], root: dict[str, Any]) -> None:
        ref = item.get("reference")
        if not isinstance(ref, str):
            return
        rtype: str | None = None
        unresolved = False  # a literal reference whose target is not at hand
        resolved: dict[str, Any] | None = None
        if ref.startswith("#"):
            container = root if isinstance(root, dict) else resource
            if ref == "#":
                rtype = container.get("resourceType")
            else:
                target = next((c for c in container.get("contained", []) or []
                               if isinstance(c, dict) and c.get("id") == ref[1:]), None)
                if target is None:
                    run.add("error", "invariant",
                            f"Constraint failed: ref-1: the contained resource '{ref}' is not "
                            "in the resource", f"{expr}.reference")
                    return
                rtype = target.get("resourceType")
                resolved = target
        elif ref.startswith(("urn:uuid:", "urn:oid:")):
            if run.bundle is not None:
                entry = next((e for e in run.bundle.get("entry", []) or []
                              if isinstance(e, dict) and e.get("fullUrl") == ref), None)
                if entry is None:
                    run.add("warning", "not-found",
                            f"The reference {ref} does not resolve to an entry of the Bundle",
                            f"{expr}.reference")
                    return
                res = entry.get("resource")
                rtype = res.get("resourceType") if isinstance(res, dict) else None
                resolved = res if isinstance(res, dict) else None
        else:
            rtype = _ref_type(ref)
            if rtype is not None and self.registry.type_definition(rtype) is None:
                rtype = None
            resolved = _bundle_entry(run.bundle, ref)
            unresolved = resolved is None
        allowed = reference_targets(self, node)  # None: no target, or one we do not know
        if allowed is None or rtype is None:
            return
        if rtype in allowed or "Resource" in allowed or "DomainResource" in allowed:
            if resolved is not None:
                self._target_profiles(run, resolved, node, ref, expr)
            return
        run.add(self.unresolved_reference_types if unresolved else "error", "structure",
                f"The type '{rtype}' implied by the reference is not a valid target for "
                f"{node.path} (must be one of {', '.join(sorted(allowed))}){_from(run)}",
                f"{expr}.reference")

    def _target_profiles(self, run: _Run, target: dict[str, Any], node: Node, ref: str,
                         expr: str) -> None:
        """A target at hand conforms to one of the element's target profiles of its type
        (https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.type.targetProfile);
        core type definitions and unknown profiles are not checked."""
        rtype = target.get("resourceType")
        profiles = [p for t in node.types if t.code == "Reference" for p in t.targets
                    if not p.startswith(CORE) and (m := self.model(p)) is not None
                    and m.type == rtype]
        if not profiles or any(p.startswith(CORE) and p.endswith(f"/{rtype}")
                               for t in node.types for p in t.targets):
            return
        if any(self._resource_conforms(run, target, p) for p in profiles):
            return
        run.add("error", "structure", f"Unable to find a profile match for {ref} among "
                f"choices: {', '.join(profiles)}{_from(run)}", f"{expr}")

    # --- extensions ----------------------------------------------------------------------

    def _attachment(self, run: _Run, item: dict[str, Any], expr: str) -> None:
        """``size`` is the number of bytes of ``data`` when both are given
        (https://hl7.org/fhir/R4/datatypes.html#Attachment)."""
        data, size = item.get("data"), item.get("size")
        if not isinstance(data, str) or type(size) is not int:
            return
        try:
            actual = len(base64.b64decode(data, validate=False))
        except (binascii.Error, ValueError):
            return  # (the base64Binary check reports it)
        if actual != size:
            run.add("error", "value", f"Stated Attachment Size {size} does not match actual "
                    f"attachment size {actual}", f"{expr}.size")

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

    def _domain_rules(self, run: _Run, res: dict[str, Any], expr: str,
                      root: dict[str, Any]) -> None:
        rtype = res.get("resourceType")
        rid = res.get("id")
        if isinstance(rid, str) and not _ID.match(rid):  # contained resources' ids too
            run.add("error", "value", f"Invalid resource id '{rid[:80]}' ([A-Za-z0-9-.]{{1,64}})",
                    f"{expr}.id")
        contained = res.get("contained")
        if isinstance(contained, list) and contained and self.check_contained:
            refs = set(_local_refs(res))
            for i, c in enumerate(contained):
                if not isinstance(c, dict):
                    continue
                loc = f"{expr}.contained[{i}]"
                if c.get("contained"):
                    run.add("error", "invariant", "Constraint failed: dom-2: a contained "
                            "resource must not contain resources", loc)
                meta: dict[str, Any] = c["meta"] if isinstance(c.get("meta"), dict) else {}
                if "versionId" in meta or "lastUpdated" in meta:
                    run.add("error", "invariant", "Constraint failed: dom-4: a contained "
                            "resource must not have meta.versionId or meta.lastUpdated", loc)
                if "security" in meta:
                    run.add("error", "invariant", "Constraint failed: dom-5: a contained "
                            "resource must not have security labels", loc)
                if c.get("id") not in refs and "#" not in set(_local_refs(c)):
                    run.add("error", "invariant", "Constraint failed: dom-3: the contained "
                            f"resource '{c.get('id')}' is not referenced from the rest of the "
                            "resource", loc)
        if rtype == "Bundle":
            self._bundle_rules(run, res, expr)
        self._canonical_url(run, res, expr, root)
        rules = definitions.RULES.get(rtype) if isinstance(rtype, str) else None
        if rules is not None:
            rules(self, res, expr, lambda msg, at: run.add("error", "invalid", msg, at))

    def _canonical_url(self, run: _Run, res: dict[str, Any], expr: str,
                       root: dict[str, Any]) -> None:
        """The url of a canonical resource is absolute
        (https://hl7.org/fhir/R4/references.html#canonical): a resource type with url, version
        and status elements is a canonical resource."""
        url = res.get("url")
        if not isinstance(url, str) or not isinstance(res.get("resourceType"), str):
            return
        model = self.type_model(res["resourceType"])
        if model is None or not {"url", "version", "status"} <= model.root.children.keys():
            return
        if _ABSOLUTE.match(url) or url.startswith("#"):
            return
        where = "in contained resources " if root is not res else ""
        run.add("error", "invalid", f"Canonical URLs {where}must be absolute URLs if they are "
                f"not fragment references ('{url}')", f"{expr}.url")

    def _bundle_rules(self, run: _Run, bundle: dict[str, Any], expr: str) -> None:
        relations: set[str] = set()
        for i, link in enumerate(bundle.get("link", []) or []):
            relation = link.get("relation") if isinstance(link, dict) else None
            if isinstance(relation, str) and relation in relations:
                # a relation names one link (self, next…: https://hl7.org/fhir/R4/http.html#paging)
                run.add("error", "invalid", f"The link relationship type '{relation}' can only "
                        "occur once", f"{expr}.link[{i}]")
            elif isinstance(relation, str):
                relations.add(relation)
        seen: dict[str, int] = {}
        for i, entry in enumerate(bundle.get("entry", []) or []):
            if not isinstance(entry, dict):
                continue
            full = entry.get("fullUrl")
            res = entry.get("resource")
            loc = f"{expr}.entry[{i}]"
            if isinstance(full, str) and not _ABSOLUTE.match(full):
                run.add("error", "invalid", f"The fullUrl must be an absolute URL (not '{full}')",
                        f"{loc}.fullUrl")
            if isinstance(full, str) and isinstance(res, dict):
                rid, rtype = res.get("id"), res.get("resourceType")
                # a RESTful fullUrl (.../Type/id, Type a resource type) names the resource's
                # type and id; other absolute URLs are not read
                tail = full.split("/_history/", 1)[0].rstrip("/").split("/")[-2:]
                restful = len(tail) == 2 and self.registry.type_definition(tail[0]) is not None
                if full.startswith(("http://", "https://")) and rid and restful and \
                        tail != [rtype, rid]:
                    run.add("error", "invalid",
                            f"The fullUrl '{full}' does not match the resource {rtype}/{rid}",
                            f"{loc}.fullUrl")
                key = full + "|" + str((res.get("meta") or {}).get("versionId", "")
                                       if isinstance(res.get("meta"), dict) else "")
                if key in seen and bundle.get("type") not in ("history",):
                    run.add("error", "invariant", "Constraint failed: bdl-7: fullUrl must be "
                            f"unique in a bundle ('{full}')", f"{loc}.fullUrl")
                seen[key] = i


_NARRATIVE_LINK = re.compile(r"""\b(?:src|href)\s*=\s*["']#([^"']+)["']""")


def _local_refs(obj: Any) -> Any:
    """Local ids referenced ('#id' in references, canonicals, uris and urls; '#' for the
    container; and, as the reference validator counts them, ``src``/``href`` links of the
    narrative)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, str) and value.startswith("#"):
                yield value[1:] if value != "#" else "#"
            elif key == "div" and isinstance(value, str):
                yield from _NARRATIVE_LINK.findall(value)
            elif key != "contained":
                yield from _local_refs(value)
            else:
                for c in value if isinstance(value, list) else []:
                    yield from _local_refs(c)
    elif isinstance(obj, list):
        for item in obj:
            yield from _local_refs(item)


def _has_element(obj: dict[str, Any], key: str, i: int) -> bool:
    """Does ``_key[i]`` (the id and extensions of item i of a primitive array) hold content?"""
    ext = obj.get("_" + key)
    return isinstance(ext, list) and i < len(ext) and isinstance(ext[i], dict) and bool(ext[i])


def _bundle_entry(bundle: dict[str, Any] | None, ref: str) -> dict[str, Any] | None:
    """The resource of the Bundle a literal reference (relative or absolute) points to."""
    if bundle is None:
        return None
    for entry in bundle.get("entry", []) or []:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict):
            continue
        full = entry.get("fullUrl") or ""
        if full == ref or (isinstance(full, str) and full.endswith("/" + ref)) or (
            f"{res.get('resourceType')}/{res.get('id')}" == ref
        ):
            return res
    return None


def _ref_type(ref: Any) -> str | None:
    if not isinstance(ref, str) or ref.startswith(("#", "urn:")):
        return None
    parts = ref.split("?", 1)[0].split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return parts[-2]
    return None


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


def _walk(item: Any, path: str) -> list[Any]:
    """Values at a simple discriminator path (names, extension('url'), ofType(T))."""
    values = [item]
    for m in _PATH_TOKEN.finditer(path):
        tok = m.group(0)
        if tok == "$this":
            continue
        out: list[Any] = []
        if m.group(1) is not None:
            for v in values:
                if isinstance(v, dict):
                    out.extend(e for e in v.get("extension", []) or []
                               if isinstance(e, dict) and e.get("url") == m.group(1))
        elif m.group(2) is not None:
            t = m.group(2)
            out = [v for v in values if not isinstance(v, dict) or v.get("resourceType", t) == t]
        elif tok == "resolve()":
            out = values
        else:
            for v in values:
                if not isinstance(v, dict):
                    continue
                if tok in v:
                    x = v[tok]
                    out.extend(x if isinstance(x, list) else [x])
                else:
                    for k, x in v.items():  # choice: value[x] named valueQuantity etc.
                        if k.startswith(tok) and k[len(tok):len(tok) + 1].isupper():
                            out.extend(x if isinstance(x, list) else [x])
        values = out
    return values


def _contains(actual: Any, pattern: Any) -> bool:
    """Pattern semantics: every property of the pattern is in the instance (arrays: each
    pattern item matches some instance item)."""
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return False
        return all(k in actual and _contains(actual[k], v) for k, v in pattern.items())
    if isinstance(pattern, list):
        if not isinstance(actual, list):
            return False
        return all(any(_contains(a, p) for a in actual) for p in pattern)
    return bool(actual == pattern)


def _equal_fixed(actual: Any, fixed: Any) -> bool:
    """Fixed-value semantics (profiling.html#fixed): the instance has exactly the fixed
    content, no property more or less (element ids aside)."""
    if isinstance(fixed, dict):
        if not isinstance(actual, dict):
            return False
        keys = set(actual) - {"id"}
        if keys != set(fixed) - {"id"}:
            return False
        return all(_equal_fixed(actual[k], fixed[k]) for k in keys)
    if isinstance(fixed, list):
        return (isinstance(actual, list) and len(actual) == len(fixed)
                and all(_equal_fixed(a, f) for a, f in zip(actual, fixed, strict=True)))
    return bool(actual == fixed)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _from(run: _Run) -> str:
    return f" (from {run.profile})" if run.profile and not run.profile.startswith(CORE) else ""


def _dedupe(issues: list[Issue]) -> list[Issue]:
    seen: set[tuple[str, str, str, tuple[str, ...]]] = set()
    out = []
    for i in issues:
        key = (i.severity, i.code, i.diagnostics, i.expression)
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out
