"""Code tables shaped as FHIR ConceptMaps (https://hl7.org/fhir/R4/conceptmap.html).

A table translates a source code (optionally qualified by ``group.source``: a code system
name of the source format) into a target Coding (``group.target`` = system, the element's
target code and display), and back. A code the table does not list is an error of the
source file: adding it to the table is how a new code becomes acceptable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CodeTable:
    name: str
    url: str
    forward: dict[tuple[str | None, str], dict[str, str]] = field(default_factory=dict)
    backward: dict[tuple[str, str], tuple[str | None, str]] = field(default_factory=dict)
    qualified: bool = False  # source codes are {system, code}

    @classmethod
    def from_concept_map(cls, name: str, cm: dict[str, Any]) -> CodeTable:
        if cm.get("resourceType") != "ConceptMap":
            raise ValueError(f"code table {name} is not a ConceptMap")
        table = cls(name, str(cm.get("url", "")))
        for group in cm.get("group", []):
            src_system = group.get("source")
            tgt_system = group["target"]
            table.qualified = table.qualified or src_system is not None
            for element in group.get("element", []):
                target = element["target"][0]
                coding = {"system": tgt_system, "code": target["code"]}
                if target.get("display"):
                    coding["display"] = target["display"]
                table.forward[(src_system, element["code"])] = coding
                table.backward.setdefault((tgt_system, target["code"]),
                                          (src_system, element["code"]))
        return table

    def translate(self, value: Any) -> dict[str, str] | None:
        if self.qualified:
            if not isinstance(value, dict):
                return None
            return self.forward.get((value.get("system"), str(value.get("code"))))
        if isinstance(value, bool):
            value = "true" if value else "false"
        return self.forward.get((None, str(value)))

    def reverse(self, coding: dict[str, Any]) -> Any:
        found = self.backward.get((str(coding.get("system")), str(coding.get("code"))))
        if found is None:
            return None
        src_system, code = found
        return {"system": src_system, "code": code} if self.qualified else code

    def reverse_code(self, code: str) -> Any:
        """A bare target code (an element bound to one code system) back to the source."""
        systems = {system for system, c in self.backward if c == code}
        if len(systems) != 1:
            return None
        return self.reverse({"system": systems.pop(), "code": code})

    def codes(self) -> list[str]:
        return sorted(f"{s}|{c}" if s else c for s, c in self.forward)
