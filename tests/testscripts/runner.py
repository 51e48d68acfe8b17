"""A small, general FHIR R4 TestScript runner that talks HTTP to any server.

It executes ``setup``, each ``test`` and ``teardown`` of a TestScript resource against a base URL
(using ``requests``) and reports every assertion as passed, failed, warning (a failed
``warningOnly`` assertion), skipped (with the reason) or known failure (listed by the caller,
with the reason). What it does not support is reported as skipped with the reason, never
silently passed.

Supported (R4 TestScript):

- fixtures: ``resource.reference`` to a contained resource (``#id``), to a resource of a FHIR
  package folder (``Patient/example`` → ``Patient-example.json``) or to a spec file name
  (``Patient/patient-example.xml`` → the JSON equivalent of that example), and
  ``autocreate`` / ``autodelete``;
- operations ``read vread create update updateCreate delete search history capabilities``,
  with ``resource params url sourceId targetId responseId requestId contentType accept
  requestHeader encodeRequestUrl method``;
- variables with ``defaultValue``, ``expression`` (FHIRPath, via fhirpathpy), ``path``
  (FHIRPath, or simple XPath location paths such as ``fhir:Patient/fhir:name/fhir:family/@value``
  turned into FHIRPath; XPath string semantics: the first node's value), ``headerField`` and
  ``sourceId``; values given by the caller (the tester's input for ``hint`` variables) win;
  ``${name}`` is substituted in every string an action uses;
- assertions ``response responseCode contentType headerField requestURL requestMethod resource
  minimumId navigationLinks expression path compareToSourceId/compareToSourceExpression/
  compareToSourcePath`` with the operators ``equals notEquals in notIn greaterThan lessThan
  empty notEmpty contains notContains eval`` and ``warningOnly``.

``validateProfileId`` uses the validator given to the runner (skipped without one). Not
supported, reported as skipped: complex
XPath or JSONPath, multi-system scripts (``origin`` / several ``destination``), operations
other than the above.

XML is substituted by JSON: an ``accept`` / ``contentType`` of ``xml`` is sent as
``application/fhir+json`` and a ``contentType`` assertion of ``xml`` checks for JSON; every such
substitution is recorded in ``ScriptResult.adjustments``.

Conventions (each applied one recorded in ``adjustments`` where it changes a request): an
update's body ``id`` is set to the id of its URL (fixtures are authored with their own id); a
``compareToSourceId`` assertion without its own ``expression``/``path`` evaluates the compared
expression on both sides; ``minimumId`` ignores the server-managed ``id``, ``meta.versionId``,
``meta.lastUpdated`` and ``meta.source``; an ``expression`` assertion without operator or value
must yield ``true``; a failed setup skips the tests (teardown still runs).

Command line: ``python -m tests.testscripts.runner BASE_URL SCRIPT.json [...] [--var n=v]``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import fhirpathpy
import requests
from fhirpathpy.models import models as fhirpath_models

JSON_MIME = "application/fhir+json"
XML_MIME = "application/fhir+xml"

RESPONSE_CODES = {
    "okay": 200, "created": 201, "noContent": 204, "notModified": 304, "bad": 400,
    "forbidden": 403, "notFound": 404, "methodNotAllowed": 405, "conflict": 409, "gone": 410,
    "preconditionFailed": 412, "unprocessable": 422,
}

OPERATION_METHODS = {
    "read": "GET", "vread": "GET", "search": "GET", "history": "GET", "capabilities": "GET",
    "create": "POST", "update": "PUT", "updateCreate": "PUT", "delete": "DELETE",
}

# Elements of an assertion that are descriptive or modify how the check is made.
ASSERT_COMMON = {"id", "extension", "modifierExtension", "label", "description", "direction",
                 "operator", "value", "warningOnly", "sourceId"}
ASSERT_KINDS = ("response", "responseCode", "contentType", "headerField", "requestURL",
                "requestMethod", "resource", "minimumId", "navigationLinks",
                "validateProfileId", "compareToSourceId", "expression", "path")
ASSERT_HANDLED = ASSERT_COMMON | set(ASSERT_KINDS) | {"compareToSourceExpression",
                                                      "compareToSourcePath"}

PASS, FAIL, WARNING, SKIP, KNOWN = "pass", "fail", "warning", "skip", "known-failure"


class Unsupported(Exception):
    """A construct this runner does not implement: the assertion is reported as skipped."""


class RunError(Exception):
    """Something needed to run an action is missing: the action fails."""


@dataclass
class AssertionResult:
    key: str          # e.g. "setup.action[1]" or "test[R004].action[1]"
    description: str
    outcome: str      # pass | fail | warning | skip | known-failure
    message: str = ""


@dataclass
class Exchange:
    """One HTTP request and its response, as fixtures for later actions."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: Any
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""
    body: Any = None

    def header(self, name: str, request: bool = False) -> str | None:
        source = self.request_headers if request else self.headers
        for k, v in source.items():
            if k.lower() == name.lower():
                return v
        return None


@dataclass
class ScriptResult:
    script_id: str
    assertions: list[AssertionResult] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)
    adjustments: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def by(self, outcome: str) -> list[AssertionResult]:
        return [a for a in self.assertions if a.outcome == outcome]

    @property
    def ok(self) -> bool:
        return not self.by(FAIL) and not self.errors

    def summary(self) -> str:
        counts = {o: len(self.by(o)) for o in (PASS, FAIL, WARNING, SKIP, KNOWN)}
        return f"{self.script_id}: " + ", ".join(f"{n} {o}" for o, n in counts.items())

    def report(self) -> str:
        lines = [self.summary()]
        for a in self.assertions:
            if a.outcome != PASS:
                lines.append(f"  [{a.outcome}] {a.key} {a.description!r}: {a.message}")
        lines += [f"  [adjusted] {x}" for x in self.adjustments]
        lines += [f"  [error] {x}" for x in self.errors]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Fixtures


class PackageFixtures:
    """Resolves ``fixture.resource.reference`` to JSON resources in FHIR package folders.

    ``Type/id`` → ``Type-id.json``; a spec file name (``Type/type-name.xml``, ``name.xml``) →
    the JSON example of the same name, with or without the lower-case type prefix.
    """

    def __init__(self, *folders: Path) -> None:
        self.folders = [Path(f) for f in folders]

    def __call__(self, reference: str) -> dict[str, Any]:
        ref = reference.split("|")[0]
        parts = ref.rstrip("/").split("/")
        rtype = parts[-2] if len(parts) >= 2 else None
        last = parts[-1]
        stem = re.sub(r"\.(xml|json)$", "", last)
        names = []
        if rtype:
            names.append(f"{rtype}-{stem}.json")
            prefix = rtype.lower() + "-"
            if stem.lower().startswith(prefix):
                names.append(f"{rtype}-{stem[len(prefix):]}.json")
        names.append(f"{stem}.json")
        for folder in self.folders:
            for name in names:
                path = folder / name
                if path.is_file():
                    resource = json.loads(path.read_text(encoding="utf-8"))
                    if rtype and resource.get("resourceType") != rtype:
                        continue
                    return resource
            if rtype:  # the id may differ from the file name: look for the resource itself
                for path in sorted(folder.glob(f"{rtype}-*.json")):
                    resource = json.loads(path.read_text(encoding="utf-8"))
                    if resource.get("id") in (stem, stem.removeprefix(rtype.lower() + "-")):
                        return resource
        raise RunError(f"fixture {reference!r} not found in {[str(f) for f in self.folders]}")


# ---------------------------------------------------------------------------------------------
# Paths and values


_XPATH_STEP = re.compile(r"^(?:fhir:)?([A-Za-z][A-Za-z0-9_]*)$")


def xpath_to_fhirpath(path: str) -> str:
    """``fhir:Patient/fhir:name/fhir:family/@value`` → ``Patient.name.family``; a path without
    ``/`` is taken as FHIRPath.

    Only plain child steps are accepted; predicates, axes, functions and JSONPath raise
    Unsupported.
    """
    p = path.strip()
    if p.startswith("$"):
        raise Unsupported(f"JSONPath {path!r} is not supported")
    if p.startswith("//") or "::" in p:
        raise Unsupported(f"XPath {path!r} uses an axis: not supported")
    if "/" not in p:  # already a FHIRPath expression (``Patient.name.family``)
        return p.replace("fhir:", "")
    p = p.lstrip("/")
    steps = p.split("/")
    if steps and steps[-1] == "@value":
        steps = steps[:-1]
    out = []
    for step in steps:
        m = _XPATH_STEP.match(step)
        if not m:
            raise Unsupported(f"XPath {path!r} is not a simple location path (step {step!r})")
        out.append(m.group(1))
    if not out:
        raise Unsupported(f"empty path {path!r}")
    return ".".join(out)


def evaluate(resource: Any, expression: str) -> list[Any]:
    if resource is None:
        raise RunError(f"no resource to evaluate {expression!r} against")
    try:
        return list(fhirpathpy.evaluate(resource, expression, {}, fhirpath_models["r4"]))
    except Exception as exc:  # fhirpathpy raises plain exceptions on bad expressions
        raise RunError(f"FHIRPath {expression!r} failed: {exc}") from exc


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def subset_mismatches(minimum: Any, actual: Any, where: str = "") -> list[str]:
    """Elements of ``minimum`` absent from or different in ``actual`` (lists: each item of the
    minimum must match some item of the actual list)."""
    if isinstance(minimum, dict):
        if not isinstance(actual, dict):
            return [f"{where or '/'}: expected an object"]
        out: list[str] = []
        for k, v in minimum.items():
            if k not in actual:
                out.append(f"{where}/{k}: missing")
            else:
                out += subset_mismatches(v, actual[k], f"{where}/{k}")
        return out
    if isinstance(minimum, list):
        if not isinstance(actual, list):
            return [f"{where}: expected an array"]
        out = []
        for i, item in enumerate(minimum):
            if not any(not subset_mismatches(item, a) for a in actual):
                out.append(f"{where}[{i}]: no matching item")
        return out
    if minimum != actual:
        return [f"{where}: {minimum!r} != {actual!r}"]
    return []


# ---------------------------------------------------------------------------------------------
# The runner


class TestScriptRunner:
    """Runs TestScripts against ``base_url``.

    ``fixtures`` resolves fixture references to resources; ``variables`` are the tester's
    values (they override the script's); ``known_failures`` maps assertion keys (``setup.
    action[i]``, ``test[<id or index>].action[i]``) to the reason the assertion is expected to
    fail: it is still evaluated, reported as ``known-failure``, and reported as a failure if it
    unexpectedly passes.
    """

    __test__ = False  # not a pytest class

    def __init__(self, base_url: str, fixtures: Callable[[str], dict[str, Any]],
                 variables: dict[str, str] | None = None,
                 known_failures: dict[str, str] | None = None,
                 session: requests.Session | None = None, timeout: float = 30.0,
                 xml_as_json: bool = True,
                 validator: Callable[[dict[str, Any], str], list[str]] | None = None) -> None:
        self.base = base_url.rstrip("/")
        # validateProfileId: (resource, profile URL) -> error messages; None: reported skipped
        self.validator = validator
        self.fixture_loader = fixtures
        self.user_variables = dict(variables or {})
        self.known_failures = dict(known_failures or {})
        self.session = session or requests.Session()
        self.timeout = timeout
        self.xml_as_json = xml_as_json

    # -- entry point ---------------------------------------------------------------------------

    def run(self, script: dict[str, Any]) -> ScriptResult:
        self.script = script
        self.result = ScriptResult(script.get("id", "?"))
        self.fixtures: dict[str, Any] = {}       # fixture id → resource (static fixtures)
        self.exchanges: dict[str, Exchange] = {}  # responseId / requestId → exchange
        self.last: Exchange | None = None
        self.last_unsupported: str | None = None
        self.profiles = {p.get("id"): p.get("reference") for p in script.get("profile", [])}
        self.variables = {v["name"]: v for v in script.get("variable", []) if "name" in v}

        multi = self._multisystem_reason(script)
        if multi:
            self._skip_all(multi)
            return self.result

        self._load_fixtures()
        setup_ok = self._run_actions("setup", script.get("setup", {}).get("action", []))
        for i, test in enumerate(script.get("test", [])):
            section = f"test[{test.get('id') or i}]"
            if setup_ok:
                self._run_actions(section, test.get("action", []))
            else:
                self._skip_actions(section, test.get("action", []), "setup failed")
        for i, action in enumerate(script.get("teardown", {}).get("action", [])):
            op = action.get("operation")
            if op is not None:
                self._operation(f"teardown.action[{i}]", op, teardown=True)
        for fid, fixture in self._fixture_defs().items():
            if fixture.get("autodelete") and fid in self.fixtures:
                self._autodelete(fid)
        return self.result

    # -- structure -----------------------------------------------------------------------------

    @staticmethod
    def _multisystem_reason(script: dict[str, Any]) -> str | None:
        def ops() -> Any:
            parts = [script.get("setup", {}), *script.get("test", []),
                     script.get("teardown", {})]
            for part in parts:
                for a in part.get("action", []):
                    if "operation" in a:
                        yield a["operation"]
        if (script.get("origin") or len(script.get("destination", [])) > 1
                or any("origin" in o or o.get("destination", 1) != 1 for o in ops())):
            return ("multi-system TestScript (origin/destination): the test engine must sit "
                    "between a client under test and several destination servers and observe "
                    "their exchanges; this runner is the client of a single server")
        return None

    def _skip_all(self, reason: str) -> None:
        self._skip_actions("setup", self.script.get("setup", {}).get("action", []), reason)
        for i, test in enumerate(self.script.get("test", [])):
            self._skip_actions(f"test[{test.get('id') or i}]", test.get("action", []), reason)

    def _skip_actions(self, section: str, actions: list[dict[str, Any]], reason: str) -> None:
        for i, action in enumerate(actions):
            if "assert" in action:
                self._record(f"{section}.action[{i}]", action["assert"], SKIP, reason)

    def _fixture_defs(self) -> dict[str, dict[str, Any]]:
        return {f["id"]: f for f in self.script.get("fixture", []) if "id" in f}

    def _load_fixtures(self) -> None:
        contained = {r.get("id"): r for r in self.script.get("contained", [])}
        for fid, fixture in self._fixture_defs().items():
            ref = (fixture.get("resource") or {}).get("reference")
            if not ref:
                self.result.errors.append(f"fixture {fid} has no resource.reference")
                continue
            try:
                if ref.startswith("#"):
                    if ref[1:] not in contained:
                        raise RunError(f"contained fixture {ref} not found")
                    self.fixtures[fid] = contained[ref[1:]]
                else:
                    self.fixtures[fid] = self.fixture_loader(ref)
            except RunError as exc:
                self.result.errors.append(f"fixture {fid}: {exc}")
                continue
            if fixture.get("autocreate"):
                self._autocreate(fid)

    def _autocreate(self, fid: str) -> None:
        resource = self.fixtures[fid]
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if rid:
            ex = self._send("PUT", f"{self.base}/{rtype}/{rid}", self._headers(), resource)
        else:
            ex = self._send("POST", f"{self.base}/{rtype}", self._headers(), resource)
        self.result.operations.append(f"autocreate {fid}: {ex.method} {ex.url} → {ex.status}")
        if ex.status not in (200, 201):
            self.result.errors.append(f"autocreate of fixture {fid} failed: {ex.status}")
        elif isinstance(ex.body, dict) and ex.body.get("id"):
            self.fixtures[fid] = ex.body

    def _autodelete(self, fid: str) -> None:
        resource = self.fixtures[fid]
        url = f"{self.base}/{resource.get('resourceType')}/{resource.get('id')}"
        ex = self._send("DELETE", url, self._headers(), None)
        self.result.operations.append(f"autodelete {fid}: DELETE {url} → {ex.status}")

    def _run_actions(self, section: str, actions: list[dict[str, Any]]) -> bool:
        ok = True
        for i, action in enumerate(actions):
            key = f"{section}.action[{i}]"
            if "operation" in action:
                if not self._operation(key, action["operation"]):
                    ok = False
            elif "assert" in action:
                if self._assert(key, action["assert"]) == FAIL:
                    ok = False
            else:
                self.result.errors.append(f"{key}: neither operation nor assert")
                ok = False
        return ok

    # -- variables -----------------------------------------------------------------------------

    def substitute(self, text: str, seen: tuple[str, ...] = ()) -> str:
        def one(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in seen:
                raise RunError(f"variable {name} refers to itself")
            return self.substitute(self.variable(name), (*seen, name))
        return re.sub(r"\$\{([^}]+)\}", one, text)

    def variable(self, name: str) -> str:
        if name in self.user_variables:
            return str(self.user_variables[name])
        var = self.variables.get(name)
        if var is None:
            raise RunError(f"variable ${{{name}}} is not defined")
        try:
            value = self._variable_value(var)
        except (RunError, Unsupported) as exc:
            if "defaultValue" in var:
                return str(var["defaultValue"])
            raise RunError(f"variable {name}: {exc}") from exc
        if is_empty(value):
            if "defaultValue" in var:
                return str(var["defaultValue"])
            raise RunError(f"variable {name} has no value (hint: {var.get('hint', '')!r})")
        return as_text(value)

    def _variable_value(self, var: dict[str, Any]) -> Any:
        source = var.get("sourceId")
        if "headerField" in var:
            ex = self._exchange(source)
            return ex.header(var["headerField"])
        if "expression" in var or "path" in var:
            expr = var.get("expression") or xpath_to_fhirpath(var["path"])
            values = evaluate(self._resource(source), self.substitute(expr))
            return values[0] if values else None
        return var.get("defaultValue")

    def _exchange(self, source: str | None) -> Exchange:
        if source is None:
            if self.last is None:
                raise RunError("no response yet")
            return self.last
        if source in self.exchanges:
            return self.exchanges[source]
        raise RunError(f"no response or request named {source!r} (yet)")

    def _resource(self, source: str | None, request: bool = False) -> Any:
        if source is not None and source in self.fixtures:
            return self.fixtures[source]
        ex = self._exchange(source)
        return ex.request_body if request else ex.body

    # -- operations ----------------------------------------------------------------------------

    def _headers(self, accept: str = "json", content_type: str | None = None,
                 key: str = "") -> dict[str, str]:
        def mime(fmt: str, what: str) -> str:
            if fmt == "xml" and self.xml_as_json:
                self.result.adjustments.append(f"{key}: {what} xml sent as {JSON_MIME}")
                return JSON_MIME
            return {"json": JSON_MIME, "xml": XML_MIME, "ttl": "application/fhir+turtle",
                    "none": ""}.get(fmt, fmt)
        headers = {"Accept": mime(accept, "accept")}
        if content_type:
            headers["Content-Type"] = mime(content_type, "contentType")
        return {k: v for k, v in headers.items() if v}

    def _operation(self, key: str, op: dict[str, Any], teardown: bool = False) -> bool:
        code = (op.get("type") or {}).get("code")
        self.last_unsupported = None
        try:
            if code is not None and code not in OPERATION_METHODS:
                raise Unsupported(f"operation type {code!r} is not supported")
            method, url, body = self._build(key, code, op)
            method = (op.get("method") or method).upper()
            headers = self._headers(op.get("accept", "json"), op.get("contentType")
                                    if body is not None else None, key)
            for h in op.get("requestHeader", []):
                headers[h["field"]] = self.substitute(h.get("value", ""))
            if not op.get("encodeRequestUrl", True):
                raw = True
            else:
                raw = False
                url = quote(url, safe=":/?&=%#,$|@!*+;'()~[]")
            ex = self._send(method, url, headers, body, raw=raw)
        except Unsupported as exc:
            self.last_unsupported = str(exc)
            self.result.operations.append(f"{key}: skipped: {exc}")
            return True
        except (RunError, requests.RequestException) as exc:
            self.last = None
            self.result.errors.append(f"{key}: operation {code or op.get('method')} failed: "
                                      f"{exc}")
            return teardown
        self.last = ex
        for name in (op.get("responseId"), op.get("requestId")):
            if name:
                self.exchanges[name] = ex
                self.fixtures.pop(name, None)
        self.result.operations.append(f"{key}: {ex.method} {ex.url} → {ex.status}")
        return True

    def _build(self, key: str, code: str | None, op: dict[str, Any]) -> tuple[str, str, Any]:
        method = OPERATION_METHODS.get(code or "", "GET")
        body = None
        if op.get("sourceId") and method in ("POST", "PUT"):
            body = json.loads(json.dumps(self._resource(op["sourceId"])))
        target = self._resource(op["targetId"]) if op.get("targetId") else None
        rtype = op.get("resource") or (target or body or {}).get("resourceType")
        if op.get("url"):
            url = self.substitute(op["url"])
            url = url if re.match(r"^https?://", url) else urljoin(self.base + "/", url)
        elif op.get("params") is not None:
            if not rtype and code != "capabilities":
                raise RunError("params without a resource type")
            url = f"{self.base}/{rtype}{self.substitute(op['params'])}"
        elif code == "capabilities":
            url = f"{self.base}/metadata"
        elif target is not None:
            rid = target.get("id")
            if not rid:
                raise RunError(f"target {op['targetId']} has no id")
            url = f"{self.base}/{rtype}/{rid}"
            if code == "vread":
                vid = (target.get("meta") or {}).get("versionId")
                if not vid:
                    raise RunError(f"target {op['targetId']} has no meta.versionId")
                url += f"/_history/{vid}"
            elif code == "history":
                url += "/_history"
        elif code in ("update", "updateCreate") and body is not None and body.get("id"):
            url = f"{self.base}/{rtype}/{body['id']}"
        elif code in ("create", "search", "history", None) and rtype:
            url = f"{self.base}/{rtype}" + ("/_history" if code == "history" else "")
        else:
            raise RunError(f"cannot build a URL for operation {code!r}")
        if code in ("update", "updateCreate") and body is not None:
            m = re.search(r"/([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:\?.*)?$", url)
            if m and body.get("id") != m.group(2):
                self.result.adjustments.append(
                    f"{key}: body id {body.get('id')!r} set to {m.group(2)!r} to match the "
                    "update URL (the fixture is authored with its own id)")
                body["id"] = m.group(2)
        return method, url, body

    def _send(self, method: str, url: str, headers: dict[str, str], body: Any,
              raw: bool = False) -> Exchange:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        req = requests.Request(method, url, headers=headers, data=data)
        prepared = self.session.prepare_request(req)
        if raw:
            prepared.url = url  # encodeRequestUrl=false: send the URL as written
        resp = self.session.send(prepared, timeout=self.timeout, allow_redirects=False)
        ex = Exchange(method, prepared.url or url, dict(prepared.headers), body,
                      resp.status_code, dict(resp.headers), resp.text)
        try:
            ex.body = resp.json() if resp.content else None
        except ValueError:
            ex.body = None
        return ex

    # -- assertions ----------------------------------------------------------------------------

    def _record(self, key: str, a: dict[str, Any], outcome: str, message: str) -> str:
        desc = a.get("label") or a.get("description") or ""
        if outcome in (PASS, FAIL) and key in self.known_failures:
            reason = self.known_failures[key]
            if outcome == FAIL:
                outcome, message = KNOWN, f"{reason} (evaluated: {message})"
            else:
                outcome, message = FAIL, f"listed as a known failure ({reason}) but passed"
        elif outcome == FAIL and a.get("warningOnly"):
            outcome = WARNING
        self.result.assertions.append(AssertionResult(key, desc, outcome, message))
        return outcome

    def _assert(self, key: str, a: dict[str, Any]) -> str:
        try:
            unknown = set(a) - ASSERT_HANDLED
            if unknown:
                raise Unsupported(f"assertion element(s) {sorted(unknown)} not supported")
            if self.last_unsupported and "sourceId" not in a:
                raise Unsupported(f"the preceding operation was not run: "
                                  f"{self.last_unsupported}")
            ok, message = self._check(key, a)
        except Unsupported as exc:
            return self._record(key, a, SKIP, str(exc))
        except RunError as exc:
            return self._record(key, a, FAIL, str(exc))
        return self._record(key, a, PASS if ok else FAIL, message)

    def _compare(self, actual: Any, operator: str, expected: str | None) -> tuple[bool, str]:
        shown = f"got {actual!r}" if isinstance(actual, list) else f"got {as_text(actual)!r}"
        if operator == "empty":
            return is_empty(actual), shown
        if operator == "notEmpty":
            return not is_empty(actual), shown
        if operator == "eval":
            return actual is True or actual == [True], shown
        if expected is None:
            raise RunError(f"operator {operator!r} needs a value")
        text = "" if actual is None else as_text(actual)
        msg = f"expected {operator} {expected!r}, {shown}"
        if operator == "equals":
            return text == expected, msg
        if operator == "notEquals":
            return text != expected, msg
        if operator in ("in", "notIn"):
            found = text in [v.strip() for v in expected.split(",")]
            return found == (operator == "in"), msg
        if operator in ("contains", "notContains"):
            return (expected in text) == (operator == "contains"), msg
        if operator in ("greaterThan", "lessThan"):
            try:
                x, y = float(text), float(expected)
            except ValueError as exc:
                raise RunError(f"{msg}: not numbers") from exc
            return (x > y if operator == "greaterThan" else x < y), msg
        raise Unsupported(f"operator {operator!r} is not supported")

    def _check(self, key: str, a: dict[str, Any]) -> tuple[bool, str]:
        direction = a.get("direction", "response")
        operator = a.get("operator")
        value = self.substitute(a["value"]) if "value" in a else None
        source = a.get("sourceId")

        if "validateProfileId" in a:
            url = self.profiles.get(a["validateProfileId"])
            if self.validator is None or url is None:
                raise Unsupported(f"validateProfileId {a['validateProfileId']!r} ({url}): "
                                  "no profile validator given to this runner")
            errors = self.validator(self._resource(source, direction == "request"), url)
            return not errors, (f"valid against {url}" if not errors
                                else f"invalid against {url}: {'; '.join(errors[:5])}")
        if "compareToSourceId" in a:
            return self._check_compare(a, operator or "equals", source, direction)
        if "expression" in a or "path" in a:
            expr = (self.substitute(a["expression"]) if "expression" in a
                    else xpath_to_fhirpath(self.substitute(a["path"])))
            values = evaluate(self._resource(source, direction == "request"), expr)
            if operator is None and value is None:
                return values == [True], f"{expr} → {values!r} (a true boolean is expected)"
            if operator in ("empty", "notEmpty"):
                return self._compare(values, operator, None)
            if operator == "eval":
                return values == [True], f"{expr} → {values!r}"
            actual = values[0] if values else None  # XPath string semantics: the first node
            ok, msg = self._compare(actual, operator or "equals", value)
            return ok, f"{expr}: {msg}"

        ex = self._exchange(source)
        if "response" in a:
            if a["response"] not in RESPONSE_CODES:
                raise Unsupported(f"response code {a['response']!r} unknown")
            want = RESPONSE_CODES[a["response"]]
            ok, msg = self._compare(ex.status, operator or "equals", str(want))
            return ok, f"status {ex.status} ({a['response']} = {want}): {msg}"
        if "responseCode" in a:
            return self._compare(ex.status, operator or "equals",
                                 self.substitute(a["responseCode"]))
        if "contentType" in a:
            fmt = a["contentType"]
            if fmt == "xml" and self.xml_as_json:
                self.result.adjustments.append(f"{key}: contentType assertion xml checked "
                                               "as json")
                fmt = "json"
            header = ex.header("Content-Type", direction == "request") or ""
            mime = header.split(";")[0].strip()
            kinds = {"json": {JSON_MIME, "application/json", "application/json+fhir"},
                     "xml": {XML_MIME, "application/xml", "application/xml+fhir"}}
            got = next((k for k, v in kinds.items() if mime in v), mime)
            return self._compare(got, operator or "equals", fmt)
        if "headerField" in a:
            actual = ex.header(self.substitute(a["headerField"]), direction == "request")
            return self._compare(actual, operator or "equals", value)
        if "requestURL" in a:
            return self._compare(ex.url, operator or "equals", self.substitute(a["requestURL"]))
        if "requestMethod" in a:
            return self._compare(ex.method.lower(), operator or "equals",
                                 a["requestMethod"].lower())
        if "resource" in a:
            body = ex.request_body if direction == "request" else ex.body
            rtype = body.get("resourceType") if isinstance(body, dict) else None
            return self._compare(rtype, operator or "equals", a["resource"])
        if "minimumId" in a:
            if a["minimumId"] not in self.fixtures:
                raise RunError(f"minimumId fixture {a['minimumId']!r} is not loaded")
            minimum = dict(self.fixtures[a["minimumId"]])
            minimum.pop("id", None)  # server-managed: assigned on create, versioned on write
            meta = {k: v for k, v in (minimum.pop("meta", None) or {}).items()
                    if k not in ("versionId", "lastUpdated", "source")}
            if meta:
                minimum["meta"] = meta
            missing = subset_mismatches(minimum, ex.body)
            return not missing, "; ".join(missing[:10]) or "all minimum content present"
        if "navigationLinks" in a:
            return self._check_links(ex.body, a["navigationLinks"])
        raise Unsupported(f"assertion without a supported check: {sorted(a)}")

    def _check_compare(self, a: dict[str, Any], operator: str, source: str | None,
                       direction: str) -> tuple[bool, str]:
        other = self._resource(a["compareToSourceId"])
        if "compareToSourceExpression" in a:
            other_expr = self.substitute(a["compareToSourceExpression"])
        elif "compareToSourcePath" in a:
            other_expr = xpath_to_fhirpath(self.substitute(a["compareToSourcePath"]))
        else:
            raise RunError("compareToSourceId needs compareToSourceExpression or "
                           "compareToSourcePath")
        if "expression" in a:
            expr = self.substitute(a["expression"])
        elif "path" in a:
            expr = xpath_to_fhirpath(self.substitute(a["path"]))
        else:  # the same location in the response as in the compared source
            expr = other_expr
        mine = evaluate(self._resource(source, direction == "request"), expr)
        theirs = evaluate(other, other_expr)
        if operator in ("empty", "notEmpty", "eval"):
            raise Unsupported(f"operator {operator!r} with compareToSourceId")
        expected = as_text(theirs[0]) if theirs else None
        if expected is None:
            return False, f"{other_expr} on {a['compareToSourceId']} is empty"
        ok, msg = self._compare(mine[0] if mine else None, operator, expected)
        return ok, f"{expr} vs {a['compareToSourceId']}.{other_expr}: {msg}"

    @staticmethod
    def _check_links(bundle: Any, wanted: bool) -> tuple[bool, str]:
        """A Bundle with a ``self`` link, a relation and URL on every link, and a ``next``
        link when ``total`` says more entries exist than this page holds."""
        problems = []
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            problems.append("the response is not a Bundle")
        else:
            links = {ln.get("relation"): ln.get("url") for ln in bundle.get("link", [])}
            if not links.get("self"):
                problems.append("no self link")
            if any(not r or not u for r, u in links.items()):
                problems.append("a link without relation or url")
            total, count = bundle.get("total"), len(bundle.get("entry", []))
            if isinstance(total, int) and total > count and not links.get("next"):
                problems.append(f"total {total} > {count} entries but no next link")
        ok = not problems
        return ok == bool(wanted), "; ".join(problems) or "navigation links present"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("scripts", nargs="+", type=Path)
    parser.add_argument("--fixtures", action="append", type=Path, default=[],
                        help="folder of JSON fixtures (default: the R4 core package)")
    parser.add_argument("--var", action="append", default=[], help="name=value")
    args = parser.parse_args(argv)
    folders = args.fixtures
    if not folders:
        from fhir_service.conformance.package import core_package_dir
        folders = [core_package_dir()]
    variables = dict(v.split("=", 1) for v in args.var)
    ok = True
    for path in args.scripts:
        runner = TestScriptRunner(args.base_url, PackageFixtures(*folders), variables)
        result = runner.run(json.loads(path.read_text(encoding="utf-8")))
        print(result.report())
        ok = ok and result.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
