"""Line and column of the issues of a validation, for JSON that was parsed from text.

https://hl7.org/fhir/R4/extension-operationoutcome-issue-line.html and
``-issue-col.html``: the reference validator marks each issue with the position, in the source
text, of the element at fault. Here the text is scanned once for the position of every
property (its name) and array item (its value); an issue's FHIRPath ``expression``
(``Patient.name[0].given[1]``) is followed in that map, as far as it goes (an element that is
absent, such as a missing required one, gets the position of its parent).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from fhir_service.outcomes import Issue, operation_outcome

LINE = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"
COL = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col"

Path = tuple[str | int, ...]
_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")
_WS = frozenset(" \t\r\n")


class _Scanner:
    """Positions (1-based line, column) of the values of a JSON text, by path."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.line_start = 0
        self.out: dict[Path, tuple[int, int]] = {}

    def pos(self) -> tuple[int, int]:
        return self.line, self.i - self.line_start + 1

    def skip(self) -> None:
        text, n = self.text, len(self.text)
        while self.i < n and text[self.i] in _WS:
            if text[self.i] == "\n":
                self.line += 1
                self.line_start = self.i + 1
            self.i += 1

    def value(self, path: Path) -> None:
        self.skip()
        if self.i >= len(self.text):
            return
        ch = self.text[self.i]
        if ch == "{":
            self.i += 1
            self.skip()
            while self.i < len(self.text) and self.text[self.i] != "}":
                at = self.pos()
                key = self.string()
                self.out.setdefault((*path, key), at)
                self.skip()
                self.i += 1  # ':'
                self.value((*path, key))
                self.skip()
                if self.i < len(self.text) and self.text[self.i] == ",":
                    self.i += 1
                    self.skip()
            self.i += 1
        elif ch == "[":
            self.i += 1
            self.skip()
            k = 0
            while self.i < len(self.text) and self.text[self.i] != "]":
                self.skip()
                self.out.setdefault((*path, k), self.pos())
                self.value((*path, k))
                self.skip()
                if self.i < len(self.text) and self.text[self.i] == ",":
                    self.i += 1
                k += 1
                self.skip()
            self.i += 1
        elif ch == '"':
            self.string()
        else:
            while self.i < len(self.text) and self.text[self.i] not in ",]}" and (
                self.text[self.i] not in _WS
            ):
                self.i += 1

    def string(self) -> str:
        start = self.i + 1
        self.i += 1
        text = self.text
        while self.i < len(text) and text[self.i] != '"':
            self.i += 2 if text[self.i] == "\\" else 1
        self.i += 1
        raw = text[start:self.i - 1]
        if "\\" in raw:
            import json

            try:
                return str(json.loads(f'"{raw}"'))
            except ValueError:
                return raw
        return raw


def json_positions(text: str | bytes) -> dict[Path, tuple[int, int]]:
    """Position of every property and array item of a (well-formed) JSON text."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    scanner = _Scanner(text.removeprefix("\ufeff"))
    scanner.out[()] = (1, 1)
    with contextlib.suppress(RecursionError, IndexError):  # a help: what was found is kept
        scanner.value(())
    return scanner.out


def expression_path(expression: str) -> Path:
    """``Patient.name[0].given[1]`` → ('name', 0, 'given', 1) (the type at the root is not
    in the JSON; functions such as ``ofType(T)`` are not followed)."""
    out: list[str | int] = []
    for n, m in enumerate(_SEGMENT.finditer(expression)):
        name, indexes = m.group(1), m.group(2)
        if "(" in name or ")" in name:
            break
        if n > 0:
            out.append(name)
        out.extend(int(x) for x in re.findall(r"\d+", indexes))
    return tuple(out)


def locate(expression: str, positions: dict[Path, tuple[int, int]],
           prefix: Path = ()) -> tuple[int, int] | None:
    path = (*prefix, *expression_path(expression))
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return positions.get(())


def outcome_with_positions(issues: list[Issue], text: str | bytes | None,
                           prefix: Path = ()) -> dict[str, Any]:
    """The OperationOutcome of ``issues``, each marked with the line and column of its
    element in ``text`` (when given)."""
    outcome = operation_outcome(issues)
    if text is None:
        return outcome
    positions = json_positions(text)
    for issue, out in zip(issues, outcome["issue"], strict=True):
        if not issue.expression:
            continue
        where = locate(issue.expression[0], positions, prefix)
        if where is not None:
            out["extension"] = [{"url": LINE, "valueInteger": where[0]},
                                {"url": COL, "valueInteger": where[1]}]
    return outcome
