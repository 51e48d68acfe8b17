"""Tabular forms of a source format: a sheet (CSV) whose rows update one array of existing
documents, declared as data (e.g. ``mappings/goals-csv/goals.json``).

A tabular map names

``keys``     columns that identify the document, each with the document path it must equal;
``locate``   how to find the document's root in FHIR from the keys: a search (FHIRPath
             parameters over ``%column`` variables), the root reference (FHIRPath on the
             found resource) and the export parameters (FHIRPath on it too);
``rows``     the document array the rows update; ``match`` the column identifying an item;
``columns``  column → item field.

For each group of rows with the same keys, the document is exported as the caller (the
reverse map), each row replaces the fields of its columns in the item it matches (or adds
an item; an empty cell removes the field; items no row names are left alone), and the
updated document is imported by the same maps as a whole file: identity, ownership,
atomicity and idempotence are those of the import. Problems are reported by row and
column; every group is checked before anything is written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fhir_service.mapping.paths import absent, get
from fhir_service.mapping.schema import Schema
from fhir_service.mapping.template import Problem
from fhir_service.mapping.typecheck import MapLoadError, SourceChecker


def check_tabular(name: str, tab: dict[str, Any], schema: Schema) -> None:
    where = f"tabular map {name}"
    for key in ("keys", "locate", "rows", "match", "columns"):
        if key not in tab:
            raise MapLoadError(f"{where}: '{key}' is required")
    src = SourceChecker(schema, where, {})
    for path in tab["keys"].values():
        src.resolve(schema.document, path)
    items = schema.items(src.resolve(schema.document, tab["rows"]))
    if items is None:
        raise MapLoadError(f"{where}: rows '{tab['rows']}' is not an array")
    for path in tab["columns"].values():
        src.resolve(items, path)
    if tab["match"] not in tab["columns"]:
        raise MapLoadError(f"{where}: the match column {tab['match']} is not a column")
    from fhir_service.mapping.reverse import _check_expression

    locate = tab["locate"]
    for _, expr in locate.get("params", []):
        _check_expression(expr, f"{where}, locate")
    _check_expression(locate["root"], f"{where}, locate")
    for expr in locate.get("parameters", {}).values():
        _check_expression(expr, f"{where}, locate")


@dataclass
class _Group:
    keys: dict[str, str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    document: dict[str, Any] | None = None
    index_rows: dict[int, int] = field(default_factory=dict)  # array index -> row number


class TabularImport:
    def __init__(self, name: str, tab: dict[str, Any], schema: Schema,
                 search: Callable[[str, list[tuple[str, str]]], list[dict[str, Any]]],
                 export: Callable[[str, dict[str, str]], dict[str, Any]],
                 check: Callable[[dict[str, Any]], list[Problem]]) -> None:
        self.name = name
        self.tab = tab
        self.schema = schema
        self.search = search
        self.export = export
        self.check = check
        self.field_column = {f: c for c, f in tab["columns"].items()}

    # --- parsing ------------------------------------------------------------------------------

    def parse(self, raw: bytes, problems: list[Problem]) -> list[_Group]:
        encoding = self.tab.get("encoding", "utf-8")
        try:
            text = raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)
        except UnicodeDecodeError as exc:
            problems.append(Problem("row 1", f"the sheet is not {encoding} text (byte "
                                    f"{exc.start})"))
            return []
        reader = csv.reader(io.StringIO(text, newline=""),
                            delimiter=self.tab.get("delimiter", ","))
        try:
            lines = list(reader)
        except csv.Error as exc:
            problems.append(Problem(f"row {reader.line_num}", f"not CSV ({exc})"))
            return []
        if not lines:
            problems.append(Problem("row 1", "the sheet is empty: a header row is expected"))
            return []
        header = [h.strip() for h in lines[0]]
        known = {**self.tab["keys"], **self.tab["columns"]}
        for i, name in enumerate(header):
            if name not in known:
                problems.append(Problem(f"row 1, column {i + 1}", f"{name!r} is not a column of "
                                        f"this sheet (columns: {', '.join(known)})"))
            elif header.index(name) != i:
                problems.append(Problem(f"row 1, column {name}", "the column appears twice"))
        for name in [*self.tab["keys"], self.tab["match"]]:
            if name not in header:
                problems.append(Problem("row 1", f"the column {name} is required"))
        if problems:
            return []
        groups: dict[tuple[str, ...], _Group] = {}
        for number, cells in enumerate(lines[1:], start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                problems.append(Problem(f"row {number}", f"{len(cells)} cells for "
                                        f"{len(header)} columns"))
                continue
            row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
            missing = [n for n in [*self.tab["keys"], self.tab["match"]] if not row[n]]
            for name in missing:
                problems.append(Problem(f"row {number}, column {name}", "is required"))
            if missing:
                continue
            key = tuple(row[k] for k in self.tab["keys"])
            group = groups.setdefault(key, _Group({k: row[k] for k in self.tab["keys"]}))
            group.rows.append((number, row))
        return list(groups.values())

    # --- documents ---------------------------------------------------------------------------

    def prepare(self, raw: bytes) -> list[_Group]:
        """Every group's updated document; raises with every problem by row and column."""
        from fhir_service.mapping.importer import problems_error

        problems: list[Problem] = []
        groups = self.parse(raw, problems)
        for group in groups:
            own: list[Problem] = []
            self._document(group, own)
            problems.extend(own)
            if group.document is not None:
                problems.extend(self.translate(group, p) for p in self.check(group.document))
        if problems:
            raise problems_error(problems, "The sheet")
        return groups

    def _document(self, group: _Group, problems: list[Problem]) -> None:
        from fhir_service.mapping.reverse import _compile
        from fhir_service.outcomes import FhirError

        first_row = group.rows[0][0]
        locate = self.tab["locate"]
        env = dict(group.keys)
        query = [(name, str(v)) for name, expr in locate.get("params", [])
                 for v in _compile(expr)({}, env)]
        found = self.search(locate["search"], query)
        where = f"row {first_row}, column {list(self.tab['keys'])[-1]}"
        if len(found) != 1:
            described = ", ".join(f"{k} {v!r}" for k, v in group.keys.items())
            problems.append(Problem(where, f"{'no' if not found else len(found)} "
                                    f"{locate['search']} found for {described}: the sheet "
                                    "updates an existing record that you may read"))
            return
        resource = found[0]
        roots = [r for r in _compile(locate["root"])(resource, {}) if isinstance(r, str)]
        if not roots:
            problems.append(Problem(where, f"{locate['search']}/{resource['id']} is not linked "
                                    "to the record the sheet updates"))
            return
        params = {name: str(v[0]) for name, expr in locate.get("parameters", {}).items()
                  if (v := _compile(expr)(resource, {}))}
        try:
            doc = self.export(roots[0].rstrip("/").split("/")[-1], params)
        except FhirError as exc:
            problems.append(Problem(where, exc.message))
            return
        for column, path in self.tab["keys"].items():
            value, _ = get(doc, "$", doc, "$", path)
            if value != group.keys[column]:
                problems.append(Problem(f"row {first_row}, column {column}",
                                        f"{group.keys[column]!r} does not match the record "
                                        f"({value!r})"))
        if problems:
            return
        self._apply(group, doc)
        group.document = doc

    def _apply(self, group: _Group, doc: dict[str, Any]) -> None:
        parts = self.tab["rows"][2:].split(".")
        parent: Any = doc
        for part in parts[:-1]:
            parent = parent.setdefault(part, {})
        items = parent.setdefault(parts[-1], [])
        item_schema = self.schema.items(SourceChecker(self.schema, self.name, {}).resolve(
            self.schema.document, self.tab["rows"])) or {}
        match_field = self.tab["columns"][self.tab["match"]]
        by_key = {item.get(match_field): i for i, item in enumerate(items)
                  if isinstance(item, dict)}
        for number, row in group.rows:
            key = row[self.tab["match"]]
            if key in by_key:
                item = items[by_key[key]]
            else:
                item = {}
                items.append(item)
                by_key[key] = len(items) - 1
            group.index_rows[by_key[key]] = number
            for column, fieldname in self.tab["columns"].items():
                if column not in row:
                    continue
                value = _typed(row[column], self.schema.child(item_schema, fieldname) or {})
                if absent(value):
                    item.pop(fieldname, None)
                else:
                    item[fieldname] = value

    def translate(self, group: _Group, problem: Problem) -> Problem:
        """A document path of a row's item becomes the row and column; other paths stay, as
        paths of the record the sheet updates."""
        match = re.match(re.escape(self.tab["rows"]) + r"\[(\d+)\](?:\.([A-Za-z0-9_]+))?",
                         problem.path)
        if match and int(match.group(1)) in group.index_rows:
            number = group.index_rows[int(match.group(1))]
            column = self.field_column.get(match.group(2) or "")
            where = f"row {number}, column {column}" if column else f"row {number}"
            return Problem(where, problem.message, problem.code)
        return Problem(f"row {group.rows[0][0]} (record {problem.path})", problem.message,
                       problem.code)


def _typed(cell: str, snode: dict[str, Any]) -> Any:
    if cell == "":
        return None
    kind = snode.get("type")
    if kind == "boolean":
        return {"true": True, "false": False}.get(cell.lower(), cell)
    if kind == "array":
        return [c.strip() for c in cell.split("|") if c.strip()]
    return cell
