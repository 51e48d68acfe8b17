"""The map loader checks each map's source against the case file's FHIR logical model
(StructureDefinition cm-casefile) when the IG is loaded, besides the JSON Schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from fhir_service.mapping.loader import MapLoadError, load

from .conftest import ROOT


def test_a_source_outside_the_logical_model_fails_at_load(ctx: Any, tmp_path: Path) -> None:
    model = "https://interop.cm-sante-mentale.fr/fhir/StructureDefinition/cm-casefile"
    if ctx.registry.by_url(model) is None:
        pytest.skip("the IG's logical model cm-casefile is not built (profiles/fsh-generated)")
    folder = tmp_path / "casefile"
    shutil.copytree(ROOT / "mappings" / "casefile", folder)
    shutil.copytree(ROOT / "mappings" / "goals-csv", tmp_path / "goals-csv")
    schema = json.loads((ROOT / "mappings" / "casefile.schema.json").read_text(encoding="utf-8"))
    # the schema grows a field the model does not have: the schema check alone would pass
    plan = schema["properties"]["plan"]["properties"]
    plan["reviews"] = plan["goals"]
    (tmp_path / "casefile.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    load(folder, ctx.registry, ctx.checker)  # every shipped map names a model element
    goal = json.loads((folder / "resources" / "goal.json").read_text(encoding="utf-8"))
    goal["source"] = f"{model}#Casefile.plan.reviews"
    (folder / "resources" / "goal.json").write_text(json.dumps(goal), encoding="utf-8")
    with pytest.raises(MapLoadError, match="is not an element of the logical model"):
        load(folder, ctx.registry, ctx.checker)
