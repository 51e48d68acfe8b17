"""Fetch, check and cache the official FHIR R4 definitions package.

https://hl7.org/fhir/R4/downloads.html — the R4 definitions and examples are published as the
npm package ``hl7.fhir.r4.examples@4.0.1`` (CC0). We fetch it with ``npm pack`` (the registry
is whatever npm is configured to use), check its sha256 against the pinned value, and unpack
it as a FHIR package cache entry ``hl7.fhir.r4.core#4.0.1`` so that our registry, SUSHI and
the HL7 validator all read the same files:

    <cache>/fhir-home/.fhir/packages/hl7.fhir.r4.core#4.0.1/package/

Nothing fetched here is ever committed (``.cache/`` is ignored).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

NPM_SPEC = "hl7.fhir.r4.examples@4.0.1"
TARBALL_NAME = "hl7.fhir.r4.examples-4.0.1.tgz"
TARBALL_SHA256 = "dce87f1b5b9341867033f7d1f544fa1b5232503f6d62813887ac6b8a8b6cb682"
CORE_PACKAGE_ID = "hl7.fhir.r4.core"
CORE_PACKAGE_VERSION = "4.0.1"
_MARKER = ".cm-fhir-sha256"


class PackageError(RuntimeError):
    """The definitions package could not be fetched or failed its checksum."""


def project_root() -> Path:
    """The source tree this module lives in (editable installs) or the working directory."""
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd()


def default_cache_dir() -> Path:
    env = os.environ.get("CM_FHIR_CACHE_DIR")
    return Path(env) if env else project_root() / ".cache"


def fhir_home(cache_dir: Path | None = None) -> Path:
    """The folder to use as HOME for FHIR tools (SUSHI, the HL7 validator)."""
    return (cache_dir or default_cache_dir()) / "fhir-home"


def core_package_dir(cache_dir: Path | None = None) -> Path:
    return (
        fhir_home(cache_dir)
        / ".fhir"
        / "packages"
        / f"{CORE_PACKAGE_ID}#{CORE_PACKAGE_VERSION}"
        / "package"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_tarball(cache_dir: Path) -> Path:
    """``npm pack`` the examples package into ``cache_dir/npm`` (once) and check its sha256."""
    npm_dir = cache_dir / "npm"
    npm_dir.mkdir(parents=True, exist_ok=True)
    tarball = npm_dir / TARBALL_NAME
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise PackageError("npm is required to fetch the FHIR R4 definitions (npm pack)")
        proc = subprocess.run(
            [npm, "pack", NPM_SPEC, "--pack-destination", str(npm_dir), "--silent"],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not tarball.exists():
            raise PackageError(f"npm pack {NPM_SPEC} failed: {proc.stderr.strip()[-2000:]}")
    actual = _sha256(tarball)
    if actual != TARBALL_SHA256:
        tarball.unlink(missing_ok=True)
        raise PackageError(
            f"{TARBALL_NAME}: sha256 {actual} does not match the pinned {TARBALL_SHA256}"
        )
    return tarball


def _write_index(package_dir: Path) -> None:
    """Write the FHIR package ``.index.json`` (index-version 1) the upstream package lacks."""
    files = []
    for path in sorted(package_dir.glob("*.json")):
        if path.name in ("package.json", ".index.json"):
            continue
        with path.open("rb") as fh:
            data = json.load(fh)
        if not isinstance(data, dict) or "resourceType" not in data:
            continue
        entry = {"filename": path.name, "resourceType": data["resourceType"], "id": data.get("id")}
        for key in ("url", "version", "kind", "type", "derivation"):
            if isinstance(data.get(key), str):
                entry[key] = data[key]
        files.append(entry)
    (package_dir / ".index.json").write_text(
        json.dumps({"index-version": 1, "files": files}, indent=0), encoding="utf-8"
    )


def ensure_core_package(cache_dir: Path | None = None) -> Path:
    """Return the unpacked core package folder, fetching and unpacking it if needed."""
    cache_dir = cache_dir or default_cache_dir()
    target = core_package_dir(cache_dir)
    marker = target / _MARKER
    if marker.exists() and marker.read_text().strip() == TARBALL_SHA256:
        return target
    tarball = fetch_tarball(cache_dir)
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent.parent) as tmp:
        with tarfile.open(tarball, "r:gz") as tar:
            tar.extractall(tmp, filter="data")
        unpacked = Path(tmp) / "package"
        manifest_path = unpacked / "package.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["name"] = CORE_PACKAGE_ID
        manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _write_index(unpacked)
        (unpacked / _MARKER).write_text(TARBALL_SHA256)
        final_parent = target.parent
        if final_parent.exists():
            shutil.rmtree(final_parent)
        final_parent.mkdir(parents=True)
        unpacked.rename(target)
    return target


def main() -> None:  # pragma: no cover - thin CLI used by the Makefile
    path = ensure_core_package()
    print(f"FHIR R4 definitions ready in {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
