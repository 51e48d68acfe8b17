"""Adjust an unpacked npm FHIR package before it goes into the validator's package cache.

Usage: python3 fix_package.py PACKAGE_DIR ASKED_ID#VERSION NPM_SPEC

The validator engine asks for exact package versions (e.g. hl7.terminology.r4#6.2.0) that the
npm registry does not serve; setup.sh installs the served version under the asked
``<id>#<version>`` folder. This script makes the package's own package.json agree with that
folder (the validator resolves dependencies and "already loaded" checks by package.json), keeps
the original name and version under ``x-cm-fhir-original``, and:

- keeps only the dependency on the core package: the npm versions of the terminology and
  extensions packages depend on each other (and on versions not served), which sends the
  engine's IgLoader into endless recursion or a failed download; the engine asks for each of
  these packages itself anyway;
- for the core package, made from ``hl7.fhir.r4.examples`` (the only npm package with the R4
  4.0.1 definitions): removes ``CodeSystem-spdx-license.json``, which collides with the SPDX code
  system that the engine builds in ("Duplicate Resource http://hl7.org/fhir/spdx-license").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KEEP_DEPENDENCIES = {"hl7.fhir.r4.core": "4.0.1"}
DROP_FILES = {"hl7.fhir.r4.core": {"CodeSystem-spdx-license.json"}}


def fix(package_dir: Path, asked: str, npm_spec: str) -> None:
    pid, _, version = asked.partition("#")
    pj_path = package_dir / "package.json"
    pj = json.loads(pj_path.read_text(encoding="utf-8"))
    original = {"name": pj.get("name"), "version": pj.get("version"), "npm": npm_spec}
    if pj.get("dependencies"):
        original["dependencies"] = dict(pj["dependencies"])
    pj["x-cm-fhir-original"] = original
    pj["name"] = pid
    pj["version"] = version
    pj["dependencies"] = {
        dep: KEEP_DEPENDENCIES[dep]
        for dep in (pj.get("dependencies") or {})
        if dep in KEEP_DEPENDENCIES and dep != pid
    }
    pj_path.write_text(json.dumps(pj, indent=2) + "\n", encoding="utf-8")

    drop = DROP_FILES.get(pid, set())
    if drop:
        for name in drop:
            (package_dir / name).unlink(missing_ok=True)
        index_path = package_dir / ".index.json"
        if index_path.exists():
            index = json.loads(index_path.read_text(encoding="utf-8"))
            index["files"] = [f for f in index.get("files", []) if f.get("filename") not in drop]
            index_path.write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    fix(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
