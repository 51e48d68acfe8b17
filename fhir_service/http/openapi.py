"""OpenAPI 3.0 description of the FHIR API, derived from the CapabilityStatement.

https://hl7.org/fhir/R4/http.html gives the URL patterns; which of them this server offers,
for which types, with which search parameters and operations, is read from the
CapabilityStatement the router publishes (itself derived from the loaded definitions), so the
two never disagree. Request bodies carry a JSON schema per resource type built from the
type's StructureDefinition snapshot: the resource's own elements (JSON type of primitives,
arrays for repeating elements, choice types expanded, required elements), its backbone
elements one level down, and the data types it uses; deeper levels are plain objects. Operation
parameters come from their OperationDefinitions (``in`` parameters of primitive type become
query parameters of the GET form). Every error answer is an OperationOutcome.

Nothing here depends on a web framework: :func:`openapi` returns a dict.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fhir_service import __version__
from fhir_service.fhir import FHIR_VERSION

if TYPE_CHECKING:
    from fhir_service.context import FhirContext

FHIR_JSON = "application/fhir+json"
ID_PATTERN = r"^[A-Za-z0-9\-\.]{1,64}$"
INTEGER_TYPES = {"integer": None, "positiveInt": 1, "unsignedInt": 0}
RESULT_PARAMS: dict[str, dict[str, Any]] = {
    "_count": {"type": "integer", "minimum": 0},
    "_sort": {"type": "string"},
    "_include": {"type": "string"},
    "_revinclude": {"type": "string"},
    "_summary": {"type": "string", "enum": ["true", "false", "count", "text", "data"]},
    "_elements": {"type": "string"},
    "_total": {"type": "string", "enum": ["none", "estimate", "accurate"]},
}
_REF = "#/components/schemas/"


def _primitive(code: str) -> dict[str, Any] | None:
    """JSON schema of an R4 primitive type, None for complex types."""
    if code.startswith("http://hl7.org/fhirpath/System."):
        code = code.rsplit(".", 1)[1].lower()
    if code == "boolean":
        return {"type": "boolean"}
    if code in INTEGER_TYPES:
        schema: dict[str, Any] = {"type": "integer"}
        if INTEGER_TYPES[code] is not None:
            schema["minimum"] = INTEGER_TYPES[code]
        return schema
    if code == "decimal":
        return {"type": "number"}
    if code[:1].islower():  # string, code, id, uri, date, dateTime, instant, xhtml, …
        return {"type": "string"}
    return None


class _Schemas:
    """Component schemas built from StructureDefinition snapshots, on demand."""

    def __init__(self, ctx: FhirContext) -> None:
        self.ctx = ctx
        self.components: dict[str, Any] = {}
        self._children_cache: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def _children(self, type_name: str) -> dict[str, list[dict[str, Any]]]:
        """parent path → its direct child elements, for one type's snapshot."""
        if type_name not in self._children_cache:
            sd = self.ctx.registry.type_definition(type_name) or {}
            tree: dict[str, list[dict[str, Any]]] = {}
            for el in sd.get("snapshot", {}).get("element", []):
                path = el.get("path", "")
                if "." in path:
                    tree.setdefault(path.rsplit(".", 1)[0], []).append(el)
            self._children_cache[type_name] = tree
        return self._children_cache[type_name]

    def _object(self, type_name: str, path: str, depth: int) -> dict[str, Any]:
        props: dict[str, Any] = {}
        required: list[str] = []
        for el in self._children(type_name).get(path, []):
            name = el["path"].rsplit(".", 1)[1]
            if name == "id" and "." in path:
                continue  # element ids: not worth fuzzing
            codes = [t.get("code", "") for t in el.get("type", [])]
            if el.get("contentReference"):
                codes = ["Element"]
            many = el.get("max") not in ("0", "1")
            if el.get("max") == "0":
                continue
            names = ([(name[:-3] + c[:1].upper() + c[1:], c) for c in codes]
                     if name.endswith("[x]") else [(name, codes[0] if codes else "Element")])
            for prop, code in names:
                schema = self._type_schema(type_name, el["path"], code, depth)
                props[prop] = {"type": "array", "items": schema, "minItems": 1} if many \
                    else schema
            if int(el.get("min", 0) or 0) >= 1 and not name.endswith("[x]"):
                required.append(name)
        schema = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        return schema

    def _type_schema(self, owner: str, path: str, code: str, depth: int) -> dict[str, Any]:
        prim = _primitive(code)
        if prim is not None:
            return prim
        if code in ("BackboneElement", "Element") and depth < 2:
            return self._object(owner, path, depth + 1)
        if code == "Resource":
            return {"type": "object", "properties": {"resourceType": {"type": "string"}},
                    "required": ["resourceType"]}
        if depth < 2 and code not in ("BackboneElement", "Element") and \
                self.ctx.registry.type_definition(code) is not None:
            return {"$ref": _REF + self.datatype(code)}
        return {"type": "object"}

    def datatype(self, code: str) -> str:
        name = f"dt-{code}"
        if name not in self.components:
            self.components[name] = {}  # placeholder against recursion
            self.components[name] = self._object(code, code, 2)
        return name

    def resource(self, rtype: str) -> dict[str, Any]:
        if rtype not in self.components:
            schema = self._object(rtype, rtype, 0)
            schema["properties"]["resourceType"] = {"type": "string", "enum": [rtype]}
            schema["properties"]["id"] = {"type": "string", "pattern": ID_PATTERN}
            schema["required"] = ["resourceType", *schema.get("required", [])]
            self.components[rtype] = schema
        return {"$ref": _REF + rtype}


def _outcome_responses(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    responses = dict(extra or {})
    responses["4XX"] = {"$ref": "#/components/responses/Error"}
    responses["5XX"] = {"$ref": "#/components/responses/Error"}
    return responses


def _ok(schema: dict[str, Any], description: str = "OK", code: str = "200") -> dict[str, Any]:
    return _outcome_responses({code: {"description": description,
                                      "content": {FHIR_JSON: {"schema": schema}}}})


def _body(schema: dict[str, Any], media: str = FHIR_JSON,
          required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {media: {"schema": schema}}}


def _param(name: str, where: str, schema: dict[str, Any], description: str = "",
           required: bool = False) -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "in": where, "schema": schema,
                         "required": required or where == "path"}
    if description:
        p["description"] = description[:300]
    return p


_OP_ID = re.compile(r"[^A-Za-z0-9]+")


def _op_id(*parts: str) -> str:
    return "-".join(_OP_ID.sub("", p) for p in parts if p)


def openapi(ctx: FhirContext, capabilities: dict[str, Any], server_url: str,
            auth: bool) -> dict[str, Any]:
    """The OpenAPI document for the FHIR base at ``server_url``."""
    schemas = _Schemas(ctx)
    rest = capabilities["rest"][0]
    paths: dict[str, Any] = {}
    id_param = {"$ref": "#/components/parameters/id"}
    vid_param = {"$ref": "#/components/parameters/vid"}
    result_params = [{"$ref": f"#/components/parameters/{n}"} for n in RESULT_PARAMS]
    bundle = {"$ref": _REF + "Bundle"}
    schemas.resource("Bundle")
    params_schema = schemas.resource("Parameters")
    patch_schema = {"$ref": _REF + "JsonPatch"}
    history_params = [_param("_since", "query", {"type": "string"}),
                      {"$ref": "#/components/parameters/_count"}]

    for res in rest.get("resource", []):
        t = res["type"]
        body = schemas.resource(t)
        search_params = [
            _param(sp["name"], "query", {"type": "string"},
                   f"{sp['type']}: {sp.get('documentation', '')}".rstrip(": "))
            for sp in res.get("searchParam", [])
        ]
        tag = [t]
        paths[f"/{t}"] = {
            "get": {"tags": tag, "operationId": _op_id("search", t), "summary": f"Search {t}",
                    "parameters": search_params + result_params,
                    "responses": _ok(bundle, "A searchset Bundle")},
            "post": {"tags": tag, "operationId": _op_id("create", t), "summary": f"Create {t}",
                     "parameters": [_param("If-None-Exist", "header", {"type": "string"},
                                           "conditional create: search criteria")],
                     "requestBody": _body(body),
                     "responses": _ok(body, "Created", "201")},
        }
        paths[f"/{t}/_search"] = {"post": {
            "tags": tag, "operationId": _op_id("searchPost", t),
            "summary": f"Search {t} (form body)",
            "requestBody": _body({"type": "object", "properties": {
                sp["name"]: {"type": "string"} for sp in res.get("searchParam", [])}},
                "application/x-www-form-urlencoded", required=False),
            "responses": _ok(bundle, "A searchset Bundle")}}
        paths[f"/{t}/_history"] = {"get": {
            "tags": tag, "operationId": _op_id("historyType", t), "summary": f"History of {t}",
            "parameters": history_params, "responses": _ok(bundle, "A history Bundle")}}
        paths[f"/{t}/{{id}}"] = {
            "parameters": [id_param],
            "get": {"tags": tag, "operationId": _op_id("read", t), "summary": f"Read {t}",
                    "responses": _ok(body)},
            "put": {"tags": tag, "operationId": _op_id("update", t),
                    "summary": f"Update (or create) {t}",
                    "parameters": [_param("If-Match", "header", {"type": "string"},
                                          'version check, W/"n"')],
                    "requestBody": _body(body), "responses": _ok(body)},
            "patch": {"tags": tag, "operationId": _op_id("patch", t),
                      "summary": f"JSON Patch {t}",
                      "requestBody": _body(patch_schema, "application/json-patch+json"),
                      "responses": _ok(body)},
            "delete": {"tags": tag, "operationId": _op_id("delete", t), "summary": f"Delete {t}",
                       "responses": _outcome_responses({"200": {"description": "Deleted"},
                                                        "204": {"description": "Deleted"}})},
        }
        paths[f"/{t}/{{id}}/_history"] = {"parameters": [id_param], "get": {
            "tags": tag, "operationId": _op_id("historyInstance", t),
            "summary": f"History of one {t}", "parameters": history_params,
            "responses": _ok(bundle, "A history Bundle")}}
        paths[f"/{t}/{{id}}/_history/{{vid}}"] = {"parameters": [id_param, vid_param], "get": {
            "tags": tag, "operationId": _op_id("vread", t), "summary": f"Read a version of {t}",
            "responses": _ok(body)}}

    for op in ctx.operations.values():
        if not isinstance(op, dict):
            continue
        definition = ctx.registry.by_url(op["definition"]) or {}
        query = [
            _param(p["name"], "query", _primitive(p.get("type", "string")) or {"type": "string"},
                   p.get("documentation", ""))
            for p in definition.get("parameter", [])
            if p.get("use") == "in" and _primitive(p.get("type", "")) is not None
            and not p.get("part")
        ]
        name = op["name"]
        instance = definition.get("instance", True)
        targets = [("", op["system"])] if op["system"] else []
        for t in op.get("types", ()):
            if definition.get("type", True):
                targets.append((f"/{t}", True))
            if instance:
                targets.append((f"/{t}/{{id}}", True))
        for prefix, _ in targets:
            t = prefix.split("/")[1] if prefix else "system"
            item: dict[str, Any] = {
                "post": {"tags": [t], "operationId": _op_id(name, prefix or "system", "post"),
                         "summary": f"${name}", "description": op["definition"],
                         "requestBody": _body({"oneOf": [params_schema,
                                                         {"$ref": _REF + "Resource"}]}),
                         "responses": _ok({"$ref": _REF + "Resource"})},
            }
            if not definition.get("affectsState"):
                item["get"] = {"tags": [t], "operationId": _op_id(name, prefix or "system", "get"),
                               "summary": f"${name}", "description": op["definition"],
                               "parameters": query,
                               "responses": _ok({"$ref": _REF + "Resource"})}
            if "{id}" in prefix:
                item["parameters"] = [id_param]
            paths[f"{prefix}/${name}"] = item

    paths["/"] = {
        "post": {"tags": ["system"], "operationId": "transaction",
                 "summary": "Batch or transaction", "requestBody": _body(bundle),
                 "responses": _ok(bundle, "A batch-response or transaction-response Bundle")},
    }
    paths["/_history"] = {"get": {"tags": ["system"], "operationId": "historySystem",
                                  "summary": "History of the whole store",
                                  "parameters": history_params,
                                  "responses": _ok(bundle, "A history Bundle")}}
    paths["/metadata"] = {"get": {"tags": ["system"], "operationId": "capabilities",
                                  "summary": "The CapabilityStatement", "security": [],
                                  "responses": _ok({"$ref": _REF + "Resource"})}}

    components: dict[str, Any] = {
        "schemas": {
            **schemas.components,
            "Resource": {"type": "object", "required": ["resourceType"],
                         "properties": {"resourceType": {"type": "string"}}},
            "OperationOutcome": {
                "type": "object", "required": ["resourceType", "issue"],
                "properties": {"resourceType": {"type": "string", "enum": ["OperationOutcome"]},
                               "issue": {"type": "array", "minItems": 1, "items": {
                                   "type": "object", "required": ["severity", "code"],
                                   "properties": {"severity": {"type": "string"},
                                                  "code": {"type": "string"},
                                                  "diagnostics": {"type": "string"},
                                                  "expression": {"type": "array", "items": {
                                                      "type": "string"}}}}}}},
            "JsonPatch": {"type": "array", "items": {
                "type": "object", "required": ["op", "path"],
                "properties": {"op": {"type": "string", "enum": [
                    "add", "remove", "replace", "move", "copy", "test"]},
                    "path": {"type": "string"}, "from": {"type": "string"}, "value": {}}}},
        },
        "parameters": {
            "id": _param("id", "path", {"type": "string", "pattern": ID_PATTERN},
                         "logical id", True),
            "vid": _param("vid", "path", {"type": "string", "pattern": r"^[0-9]{1,9}$"},
                          "version id", True),
            **{n: _param(n, "query", s) for n, s in RESULT_PARAMS.items()},
        },
        "responses": {"Error": {"description": "An OperationOutcome",
                                "content": {FHIR_JSON: {"schema": {
                                    "$ref": _REF + "OperationOutcome"}}}}},
    }
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "cm-fhir FHIR R4 API", "version": __version__,
                 "description": f"FHIR {FHIR_VERSION} REST API, derived from the "
                                "CapabilityStatement at /metadata."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": components,
    }
    if auth:
        components["securitySchemes"] = {"bearer": {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "SMART Backend Services token (see /.well-known/smart-configuration)"}}
        doc["security"] = [{"bearer": []}]
    return doc
