"""Compile the vendored national guides with SUSHI, offline, in dependency order.

    python national/build.py           compile every guide into national/<guide>/fsh-generated/
                                       and write its package-manifest.json
    python national/build.py --check   compile into a temporary folder and compare with the
                                       committed output (CI); writes nothing in the tree

Each guide is a SUSHI project (``sushi-config.yaml`` + ``input/fsh``). The guides are
compiled in ``ORDER``; after each one its definitions are installed as a FHIR package
(``<id>#<version>``) in a private FHIR home (``.cache/national-fhir-home``) that also holds
the R4 core package, so that the next guide's ``dependencies`` resolve without the network.
SUSHI is the pinned one of ``profiles/build.sh`` (installed there into ``.cache/sushi``).
Exits non-zero on any SUSHI error or on any difference in ``--check`` mode.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "national"
SUSHI = ROOT / ".cache" / "sushi" / "node_modules" / ".bin" / "sushi"
FHIR_HOME = ROOT / ".cache" / "national-fhir-home"
CORE = "hl7.fhir.r4.core#4.0.1"

# folder, dependency order (a guide's dependencies come before it)
ORDER = ("ans-terminology", "fr-core", "cds", "tddui")

DEFINITION_TYPES = {"CapabilityStatement", "CodeSystem", "ConceptMap", "NamingSystem",
                    "OperationDefinition", "SearchParameter", "StructureDefinition", "ValueSet"}


def _config(guide: Path) -> dict[str, object]:
    """The few top-level keys of sushi-config.yaml we need (id, canonical, version,
    dependencies), read without a YAML library."""
    text = (guide / "sushi-config.yaml").read_text(encoding="utf-8")
    out: dict[str, object] = {}
    for key in ("id", "canonical", "version", "title"):
        m = re.search(rf"^{key}:\s*(.+?)\s*(#.*)?$", text, re.M)
        if m:
            out[key] = m.group(1).strip().strip('"')
    deps: dict[str, str] = {}
    m = re.search(r"^dependencies:\s*\n((?:[ \t]+.*\n?)+)", text, re.M)
    if m:
        for line in m.group(1).splitlines():
            d = re.match(r"\s+([\w.\-]+):\s*([\w.\-]+)", line)
            if d:
                deps[d.group(1)] = d.group(2)
    out["dependencies"] = deps
    return out


def _ensure_home() -> None:
    core = ROOT / ".cache" / "fhir-home" / ".fhir" / "packages" / CORE
    if not core.exists():
        subprocess.run([sys.executable, "-m", "fhir_service.conformance.package"], cwd=ROOT,
                       check=True)
    target = FHIR_HOME / ".fhir" / "packages" / CORE
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(core, target)
    if not SUSHI.exists():
        raise SystemExit("SUSHI is not installed: run `bash profiles/build.sh` once "
                         "(it installs the pinned fsh-sushi into .cache/sushi)")


def _sushi(project: Path) -> None:
    env = {**os.environ, "HOME": str(FHIR_HOME)}
    run = subprocess.run([str(SUSHI), "build", str(project)], env=env, capture_output=True,
                         text=True, check=False)
    log = run.stdout + run.stderr
    for line in log.splitlines():
        if line.startswith(("error", "warn")) and "automatically-provided" not in line \
                and "FSHOnly" not in line:
            print(f"  {line}")
    m = re.findall(r"(\d+) Errors?", log)
    if run.returncode != 0 or not m or int(m[-1]) != 0:
        raise SystemExit(f"SUSHI failed on {project.name} (exit {run.returncode})")


def _manifest(config: dict[str, object]) -> dict[str, object]:
    deps = {"hl7.fhir.r4.core": "4.0.1", **config["dependencies"]}  # type: ignore[dict-item]
    return {"name": config["id"], "version": config["version"],
            "canonical": config["canonical"], "title": config.get("title", config["id"]),
            "fhirVersions": ["4.0.1"], "type": "IG", "dependencies": deps}


def _with_snapshot(data: dict, registry: object) -> dict:
    """SUSHI imports a dependency's profile only with a snapshot: compute it with the
    service's snapshot generator (the definitions compiled so far are in ``registry``)."""
    if data.get("resourceType") != "StructureDefinition" or "snapshot" in data \
            or data.get("derivation") != "constraint":
        return data
    from fhir_service.conformance.validator.snapshot import SnapshotGenerator

    return {**data, "snapshot": {"element": SnapshotGenerator(registry).snapshot(data)}}


def _install(config: dict[str, object], resources: Path, registry: object) -> None:
    """Put the compiled definitions in the private FHIR home as <id>#<version>, with
    snapshots (only there: the committed output is SUSHI's, differential only)."""
    folder = FHIR_HOME / ".fhir" / "packages" / f"{config['id']}#{config['version']}" / "package"
    shutil.rmtree(folder.parent, ignore_errors=True)
    folder.mkdir(parents=True)
    files = []
    definitions = []
    for path in sorted(resources.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("resourceType") in DEFINITION_TYPES:
            registry.add_resource(data)  # type: ignore[attr-defined]
            definitions.append((path, data))
    for path, data in definitions:  # every definition registered first: bases in any order
        (folder / path.name).write_text(json.dumps(_with_snapshot(data, registry)))
        entry = {"filename": path.name, "resourceType": data["resourceType"],
                 "id": data.get("id")}
        entry.update({k: data[k] for k in ("url", "version", "kind", "type")
                      if isinstance(data.get(k), str)})
        files.append(entry)
    (folder / "package.json").write_text(json.dumps(_manifest(config), indent=2) + "\n")
    (folder / ".index.json").write_text(json.dumps({"index-version": 1, "files": files},
                                                   indent=2) + "\n")


def build(check: bool) -> int:
    _ensure_home()
    sys.path.insert(0, str(ROOT))
    from fhir_service.conformance.package import ensure_core_package
    from fhir_service.conformance.registry import build_registry
    from fhir_service.settings import Settings

    registry = build_registry(ensure_core_package(Settings().cache_dir))
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in ORDER:
            guide = NATIONAL / name
            config = _config(guide)
            print(f"{name}: {config['id']}#{config['version']}")
            work = Path(tmp) / name
            work.mkdir()
            shutil.copy(guide / "sushi-config.yaml", work)
            shutil.copytree(guide / "input" / "fsh", work / "input" / "fsh")
            _sushi(work)
            generated = work / "fsh-generated" / "resources"
            _install(config, generated, registry)
            manifest = json.dumps(_manifest(config), indent=2, ensure_ascii=False) + "\n"
            if check:
                committed = guide / "fsh-generated" / "resources"
                new = {p.name: p.read_bytes() for p in generated.glob("*.json")}
                old = {p.name: p.read_bytes() for p in committed.glob("*.json")} \
                    if committed.exists() else {}
                manifest_path = guide / "package-manifest.json"
                if new != old or not manifest_path.exists() \
                        or manifest_path.read_text(encoding="utf-8") != manifest:
                    changed = sorted(set(new) ^ set(old) | {k for k in new if old.get(k) != new[k]})
                    print(f"  differs from the committed output: {changed[:10]}")
                    status = 1
            else:
                target = guide / "fsh-generated"
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(work / "fsh-generated", target)
                (guide / "package-manifest.json").write_text(manifest, encoding="utf-8")
    if check:
        print("national guides: committed output is up to date" if status == 0
              else "national guides: run `python national/build.py` and commit the result")
    return status


if __name__ == "__main__":
    sys.exit(build("--check" in sys.argv[1:]))
