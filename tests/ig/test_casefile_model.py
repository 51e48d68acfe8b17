"""The case file's FHIR logical model (StructureDefinition cm-casefile) says what its JSON Schema
says, every map of mappings/ reading the case file names an element that exists in it, and the
example case files use only elements it defines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ig_artifacts import CANONICAL, ROOT, definitions, require_compiled

require_compiled()

SCHEMA = ROOT / "mappings" / "casefile.schema.json"
MODEL_URL = f"{CANONICAL}/StructureDefinition/cm-casefile"


def _model() -> dict[str, Any]:
    (sd,) = [s for s in definitions("StructureDefinition") if s["url"] == MODEL_URL]
    return sd


def _elements() -> dict[str, dict[str, Any]]:
    sd = _model()
    root = sd["differential"]["element"][0]["path"]
    return {e["path"].removeprefix(root).lstrip("."): e
            for e in sd["differential"]["element"][1:]}


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = {**schema["$defs"][node["$ref"].split("/")[-1]],
                **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _schema_paths(schema: dict[str, Any], node: dict[str, Any],
                  prefix: str = "") -> Iterator[tuple[str, int, str]]:
    for name, raw in node.get("properties", {}).items():
        prop = _resolve(schema, raw)
        many = prop.get("type") == "array"
        item = _resolve(schema, prop["items"]) if many else prop
        path = prefix + name
        yield path, int(name in node.get("required", [])), "*" if many else "1"
        if item.get("type") == "object":
            yield from _schema_paths(schema, item, path + ".")


def test_the_logical_model_is_r4_and_says_what_the_schema_says() -> None:
    sd = _model()
    assert sd["kind"] == "logical" and sd["fhirVersion"] == "4.0.1"
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert f"revision {schema['version']}" in sd["description"]
    elements = _elements()
    expected = {path: (str(lo), hi) for path, lo, hi in _schema_paths(schema, schema)}
    assert {p: (str(e["min"]), e["max"]) for p, e in elements.items()} == expected
    assert elements["plan.goals"]["type"] == [{"code": "BackboneElement"}]
    assert elements["episode.start"]["type"] == [{"code": "date"}]


def _map_sources() -> Iterator[tuple[Path, str]]:
    for path in sorted((ROOT / "mappings").rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and str(data.get("source", "")).startswith(MODEL_URL):
            yield path, data["source"]


def test_every_map_reading_the_case_file_names_an_element_of_the_model() -> None:
    name, elements = _model()["name"], _elements()
    sources = list(_map_sources())
    assert len(sources) >= 10
    for path, source in sources:
        _, _, fragment = source.partition("#")
        if not fragment or fragment == name:
            continue
        root, _, element = fragment.partition(".")
        assert root == name and element in elements, (path.name, source)


def _instance_paths(node: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _instance_paths(item, prefix)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield prefix + key
            yield from _instance_paths(value, prefix + key + ".")


def test_example_case_files_use_only_elements_of_the_model() -> None:
    elements = _elements()
    files = sorted((ROOT / "mappings" / "examples").glob("*.json"))
    assert files
    for path in files:
        used = set(_instance_paths(json.loads(path.read_text(encoding="utf-8"))))
        assert used <= set(elements), (path.name, sorted(used - set(elements)))
