"""Build the FHIR npm package of the guide from SUSHI's output (standard library only).

FHIR NPM package specification: https://confluence.hl7.org/display/FHIR/NPM+Package+Specification
(``package/package.json``, ``package/.index.json``, conformance resources in ``package/``,
examples in ``package/example/``, each folder with its own ``.index.json``).

    make_package.py --resources DIR --manifest package-manifest.json --sushi-config FILE \
                    --out build/ig [--fhir-home .cache/fhir-home]
    make_package.py --check DIR        # sanity checks only, writes nothing

The tarball is reproducible (sorted entries, zero mtimes, no owner names), so two builds
of the same sources give the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
import shutil
import sys
import tarfile
from pathlib import Path

# Resource types published as definitions (package/); every other instance is an example
# (package/example/). Questionnaire is definitional here: the bilan fonctionnel form.
DEFINITION_TYPES = {
    "CapabilityStatement",
    "CodeSystem",
    "ConceptMap",
    "ImplementationGuide",
    "NamingSystem",
    "OperationDefinition",
    "Questionnaire",
    "SearchParameter",
    "StructureDefinition",
    "StructureMap",
    "ValueSet",
}
INDEX_KEYS = ("url", "version", "kind", "type", "supplements", "content")


def load_resources(folder: Path) -> list[tuple[str, dict]]:
    resources = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "resourceType" not in data:
            raise SystemExit(f"{path.name}: not a FHIR resource")
        resources.append((path.name, data))
    if not resources:
        raise SystemExit(f"no resources in {folder}")
    return resources


def check(resources: list[tuple[str, dict]], canonical: str | None = None) -> None:
    seen: dict[tuple[str, str], str] = {}
    urls: dict[str, str] = {}
    for name, res in resources:
        key = (res["resourceType"], res.get("id", ""))
        if not key[1]:
            raise SystemExit(f"{name}: resource without id")
        if key in seen:
            raise SystemExit(f"{name}: duplicate {key[0]}/{key[1]} (also {seen[key]})")
        seen[key] = name
        url = res.get("url")
        if res["resourceType"] in DEFINITION_TYPES and isinstance(url, str):
            if url in urls:
                raise SystemExit(f"{name}: duplicate canonical {url} (also {urls[url]})")
            urls[url] = name
            if canonical and not url.startswith(canonical + "/") and not _is_standin(res):
                raise SystemExit(f"{name}: url {url} outside the canonical base {canonical}")


def _is_standin(res: dict) -> bool:
    """FR Core elements re-declared under their own URL (see profiles/README.md)."""
    return str(res.get("url", "")).startswith("https://hl7.fr/ig/fhir/core/")


def index_entry(filename: str, res: dict) -> dict:
    entry = {"filename": filename, "resourceType": res["resourceType"], "id": res["id"]}
    for key in INDEX_KEYS:
        if isinstance(res.get(key), str):
            entry[key] = res[key]
    return entry


def sushi_setting(config: Path, key: str) -> str:
    match = re.search(rf"^{key}:\s*(\S+)\s*$", config.read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        raise SystemExit(f"{config}: no '{key}'")
    return match.group(1)


def build(args: argparse.Namespace) -> None:
    manifest_src = json.loads(Path(args.manifest).read_text(encoding="utf-8"))
    config = Path(args.sushi_config)
    for key in ("canonical", "version"):
        if sushi_setting(config, key) != manifest_src[key]:
            raise SystemExit(
                f"{key} differs between {config.name} and package-manifest.json: keep them in step"
            )
    resources = load_resources(Path(args.resources))
    check(resources, manifest_src["canonical"])

    files: dict[str, bytes] = {}
    index: dict[str, list] = {"": [], "example/": []}
    for filename, res in resources:
        folder = "" if res["resourceType"] in DEFINITION_TYPES else "example/"
        files[f"package/{folder}{filename}"] = (
            json.dumps(res, ensure_ascii=False, indent=2) + "\n"
        ).encode("utf-8")
        index[folder].append(index_entry(filename, res))
    for folder, entries in index.items():
        files[f"package/{folder}.index.json"] = (
            json.dumps({"index-version": 2, "files": entries}, ensure_ascii=False, indent=2) + "\n"
        ).encode("utf-8")
    manifest = dict(manifest_src)
    manifest.pop("language", None)
    manifest["directories"] = {"lib": "package", "example": "example"}
    files["package/package.json"] = (
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    ).encode("utf-8")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tgz = out / f"{manifest['name']}-{manifest['version']}.tgz"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    with open(tgz, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())

    unpacked = out / "package"
    _write_tree(unpacked.parent, files, "package")
    if args.fhir_home:
        cache = (
            Path(args.fhir_home)
            / ".fhir"
            / "packages"
            / f"{manifest['name']}#{manifest['version']}"
        )
        _write_tree(cache, files, "package")
    n_def, n_ex = len(index[""]), len(index["example/"])
    print(f"FHIR package {tgz} ({n_def} definitions, {n_ex} examples); unpacked in {unpacked}")
    if args.fhir_home:
        print(
            f"installed in the local FHIR package cache as {manifest['name']}#{manifest['version']}"
        )


def _write_tree(parent: Path, files: dict[str, bytes], top: str) -> None:
    target = parent / top
    if target.exists():
        shutil.rmtree(target)
    for name, data in files.items():
        path = parent / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", metavar="DIR", help="only check the resources in DIR")
    parser.add_argument("--resources")
    parser.add_argument("--manifest")
    parser.add_argument("--sushi-config")
    parser.add_argument("--out")
    parser.add_argument("--fhir-home")
    args = parser.parse_args(argv)
    if args.check:
        check(load_resources(Path(args.check)))
        return
    if not (args.resources and args.manifest and args.sushi_config and args.out):
        parser.error("--resources, --manifest, --sushi-config and --out are required")
    build(args)


if __name__ == "__main__":
    sys.exit(main())
