"""What the reference implementations are given to check: the IG package, its examples and the
case-file mapping's golden outputs (shared by the HL7 validator and HAPI checks)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "build" / "ig" / "fr.cm.mentalhealth-0.1.0.tgz"
EXAMPLES = ROOT / "profiles" / "fsh-generated" / "resources"
GOLDEN = ROOT / "tests" / "mapping" / "golden"
DEFINITIONS = {"StructureDefinition", "ValueSet", "CodeSystem", "SearchParameter",
               "OperationDefinition", "ConceptMap", "ImplementationGuide", "CapabilityStatement"}
