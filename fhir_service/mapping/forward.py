"""Source document → FHIR resources, store-independent: schema validation, checks, every
resource map rendered with deterministic ids and ``urn:uuid`` references between them.

Ids are keyed with a server secret (:func:`id_secret`): an HMAC-SHA256 of the mapping set's
namespace, the source system, the type and the key, shaped as a UUID. The same file gives
the same ids on the same server (idempotent re-imports), but nobody without the secret can
compute the id of a resource from a source system and a local identifier."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir_service import fhir
from fhir_service.mapping.loader import MappingSet, ResourceMap
from fhir_service.mapping.paths import absent, get
from fhir_service.mapping.schema import valid_date, valid_date_time
from fhir_service.mapping.template import Cursor, Problem, RenderEnv, condition, render


@dataclass
class Unit:
    map: ResourceMap
    item: Any
    path: str  # JSON path of the source item
    key_id: str  # uuid from the source key (fullUrl urn:uuid)
    resource: dict[str, Any] | None = None
    rid: str = ""  # id in the store (request url)

    @property
    def full_url(self) -> str:
        return f"urn:uuid:{self.key_id}"

    @property
    def rtype(self) -> str:
        return self.map.resource_type


@dataclass
class Mapped:
    document: Any
    units: list[Unit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)
    digest: str = ""

    @property
    def source_system(self) -> str:
        src = self.document.get("source") if isinstance(self.document, dict) else None
        return str(src.get("system", "")) if isinstance(src, dict) else ""


def digest(document: Any) -> str:
    return hashlib.sha256(fhir.dumps(document)).hexdigest()[:32]


ID_SECRET_FILE = "id-secret"
ID_SECRET_BYTES = 32
_SECRETS: dict[str, bytes] = {}
_SECRETS_LOCK = threading.Lock()


def id_secret(settings: Any) -> bytes:
    """The server's secret for the ids of imported resources: ``id-secret`` in
    ``settings.keys_dir`` (32 random bytes, created with mode 0600, in a 0700 directory when
    the directory is missing), read once per directory. Losing it changes every id the
    importer derives: back it up with the signing key."""
    folder = Path(settings.keys_dir)
    key = str(folder.absolute())
    with _SECRETS_LOCK:
        secret = _SECRETS.get(key)
        if secret is None:
            secret = _SECRETS[key] = _load_or_create_secret(folder)
    return secret


def _load_or_create_secret(folder: Path) -> bytes:
    from fhir_service.security.private_files import create_once

    path = folder / ID_SECRET_FILE
    secret = create_once(path, lambda: secrets.token_bytes(ID_SECRET_BYTES))
    if len(secret) < ID_SECRET_BYTES:
        raise RuntimeError(f"{path} holds {len(secret)} bytes; the id secret needs at least "
                           f"{ID_SECRET_BYTES}")
    return secret


def uuid_for(mset: MappingSet, secret: bytes, *parts: str) -> str:
    """A UUID-shaped id (RFC 9562 version 8: 122 bits of an HMAC-SHA256 keyed with the
    server's secret) for ``parts`` in the mapping set's namespace."""
    message = "|".join((mset.identity["namespace"], *parts)).encode()
    raw = bytearray(hmac.new(secret, message, hashlib.sha256).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8 (custom)
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def _items(mset: MappingSet, rmap: ResourceMap, doc: Any) -> list[tuple[Any, str]]:
    if not rmap.source_path:
        return [(doc, "$")]
    value, where = get(doc, "$", doc, "$", "$." + rmap.source_path)
    if value is None:
        return []
    if rmap.iterate:
        if not isinstance(value, list):
            return []
        return [(item, f"{where}[{i}]") for i, item in enumerate(value)]
    return [(value, where)]


def _key_id(mset: MappingSet, secret: bytes, rmap: ResourceMap, doc: Any, item: Any,
            path: str, doc_digest: str, source: str) -> str | None:
    parts = [source, rmap.resource_type]
    for part in rmap.key:
        if part.startswith("'"):
            parts.append(part.strip("'"))
        elif part == "$digest":
            parts.append(doc_digest)
        else:
            value, _ = get(doc, "$", item, path, part)
            if value is None or not isinstance(value, str | int):
                return None
            parts.append(str(value))
    return uuid_for(mset, secret, *parts)


def map_document(mset: MappingSet, doc: Any, variables: dict[str, Any] | None = None,
                 with_provenance: bool = True, *, secret: bytes) -> Mapped:
    """``secret``: the server's id secret (:func:`id_secret`)."""
    result = Mapped(doc)
    result.problems = [Problem(p, m, "structure" if "type" in m else "invalid")
                       for p, m in mset.schema.validate(doc)]
    if not isinstance(doc, dict):
        return result
    result.digest = digest(doc)
    source = result.source_system
    run_checks(mset, doc, result.problems)
    # units and their ids
    by_map: dict[str, list[Unit]] = {}
    names = list(mset.order) + ([mset.provenance.name] if mset.provenance and with_provenance
                                else [])
    for name in names:
        rmap = mset.maps[name]
        for item, path in _items(mset, rmap, doc):
            env_when = RenderEnv(doc, mset.datatypes, mset.tables, lambda *a: None)
            if rmap.when is not None and not _safe_condition(env_when, item, path, rmap.when):
                continue
            key_id = _key_id(mset, secret, rmap, doc, item, path, result.digest, source)
            if key_id is None:
                continue  # the schema reports the missing key
            unit = Unit(rmap, item, path, key_id, rid=key_id)
            by_map.setdefault(name, []).append(unit)
            result.units.append(unit)
            for notice in rmap.notices:
                if _safe_condition(env_when, item, path, notice["when"]):
                    result.notices.append(Problem(path, notice["message"], "informational"))
    index = _index(mset, by_map)

    def reference(targets: list[str], key: Any, where: str) -> dict[str, Any] | None:
        for target in targets:
            found = index.get((target, key if isinstance(key, str) else None))
            if found is not None:
                return {"reference": found.full_url}
        if key is None:
            result.problems.append(Problem(where, f"nothing in the file to refer to as "
                                           f"{' or '.join(targets)}"))
        else:
            names = " or ".join(_describe(mset, t) for t in targets)
            result.problems.append(Problem(where, f"dangling local reference {key!r}: not "
                                           f"{names}"))
        return None

    for unit in result.units:
        env = RenderEnv(doc, mset.datatypes, mset.tables, reference, dict(variables or {}))
        try:
            resource = render(unit.map.template, env, Cursor(unit.item, unit.path))
        except (TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
            result.problems.append(Problem(unit.path, f"cannot be mapped ({exc})"))
            resource = None
        result.problems.extend(env.problems)
        if isinstance(resource, dict):
            resource["id"] = unit.rid
            unit.resource = _ordered(resource)
    result.problems = _dedupe(result.problems)
    return result


def _ordered(resource: dict[str, Any]) -> dict[str, Any]:
    head: dict[str, Any] = {k: resource[k] for k in ("resourceType", "id", "meta")
                            if k in resource}
    return {**head, **{k: v for k, v in resource.items() if k not in head}}


def _safe_condition(env: RenderEnv, item: Any, path: str, cond: Any) -> bool:
    try:
        return condition(env, Cursor(item, path), cond)
    except (TypeError, AttributeError):
        return False


def _describe(mset: MappingSet, target: str) -> str:
    t = mset.wiring["targets"][target]
    if "literal" in t:
        return repr(t["literal"])
    if "collection" in t:
        return f"a {t['key']} of {t['collection']}"
    return t.get("singleton", target)


def _index(mset: MappingSet, by_map: dict[str, list[Unit]]) -> dict[tuple[str, str | None], Unit]:
    index: dict[tuple[str, str | None], Unit] = {}
    for tname, target in mset.wiring["targets"].items():
        units = by_map.get(target["map"], [])
        if "collection" in target:
            for unit in units:
                key = unit.item.get(target["key"]) if isinstance(unit.item, dict) else None
                if isinstance(key, str):
                    index.setdefault((tname, key), unit)
        elif "literal" in target and units:
            index[(tname, target["literal"])] = units[0]
        elif units:
            index[(tname, None)] = units[0]
    return index


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            out.append(p)
    return out


# --- declarative checks (entry map) ------------------------------------------------------------


def _comparable(value: Any) -> str | None:
    if isinstance(value, str) and (valid_date(value) or valid_date_time(value)):
        return value[:10]
    return None


def _active_required(env: RenderEnv, check: dict[str, Any]) -> bool:
    """``active`` (the item's end is absent) holds only while ``active-while`` holds (e.g. the
    episode is active: once it has ended, so have its memberships)."""
    if "active" not in check:
        return False
    return "active-while" not in check or condition(env, Cursor(env.root, "$"),
                                                    check["active-while"])


def run_checks(mset: MappingSet, doc: dict[str, Any], problems: list[Problem]) -> None:
    for check in mset.entry.get("checks", []):
        if "each" in check:
            arr, where = get(doc, "$", doc, "$", "$." + check["each"])
            items = [(x, f"{where}[{i}]") for i, x in enumerate(arr)] \
                if isinstance(arr, list) else []
        else:
            items = [(doc, "$")]
        prefix = "" if "each" in check else "$."
        if "not-before" in check:
            later, earlier = check["not-before"]
            for item, path in items:
                a, a_where = get(doc, "$", item, path, prefix + later)
                b, _ = get(doc, "$", item, path, prefix + earlier)
                ca, cb = _comparable(a), _comparable(b)
                if ca and cb and ca < cb:
                    problems.append(Problem(a_where, f"impossible date: {a} is before "
                                            f"{earlier.split('.')[-1]} {b}"))
        if "unique" in check:
            arr, where = get(doc, "$", doc, "$", "$." + check["unique"])
            seen: dict[Any, int] = {}
            for i, item in enumerate(arr if isinstance(arr, list) else []):
                key = item.get(check["key"]) if isinstance(item, dict) else None
                if absent(key):
                    continue
                if key in seen:
                    problems.append(Problem(f"{where}[{i}].{check['key']}",
                                            f"duplicate {check['key']} {key!r} (also at "
                                            f"{where}[{seen[key]}])"))
                else:
                    seen[key] = i
        if "requires" in check:
            has, where = get(doc, "$", doc, "$", "$." + check["requires"])
            needed, _ = get(doc, "$", doc, "$", "$." + check["needs"])
            if has is not None and needed is None:
                problems.append(Problem(where, check.get("message", "requires "
                                                         + check["needs"])))
        if "one-of" in check:
            value, where = get(doc, "$", doc, "$", "$." + check["one-of"])
            if value is None or not items:
                continue
            env = RenderEnv(doc, {}, {}, lambda *a: None)
            ok = any(
                isinstance(item, dict) and item.get(check["key"]) == value
                and ("where" not in check or condition(env, Cursor(item, path), check["where"]))
                and (not _active_required(env, check) or absent(item.get(check["active"])))
                for item, path in items)
            if not ok:
                problems.append(Problem(where, check["message"]))
        if "exclusive" in check:
            for item, path in items:
                given = [name for name in check["exclusive"]
                         if not absent(get(doc, "$", item, path, prefix + name)[0])]
                if len(given) > 1:
                    problems.append(Problem(f"{path}.{given[1]}", check.get(
                        "message", f"{' and '.join(given)} exclude each other")))
        if "at-most-one" in check:
            env = RenderEnv(doc, {}, {}, lambda *a: None)
            hits = [path for item, path in items if isinstance(item, dict)
                    and condition(env, Cursor(item, path), check["at-most-one"])
                    and absent(item.get(check["active"]))]
            for path in hits[1:]:
                problems.append(Problem(path, check["message"]))
