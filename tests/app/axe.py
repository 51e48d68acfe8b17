"""axe-core (MPL-2.0), the accessibility engine, from its npm package: ``npm pack`` once into
the definitions cache (``.cache/npm``, like the FHIR packages), its sha256 checked, the
script read from the tarball. None when npm or the package is not available (the check
then skips with that reason)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile

from fhir_service.conformance.package import default_cache_dir

SPEC = "axe-core@4.10.3"
TARBALL = "axe-core-4.10.3.tgz"
SHA256 = "0f2b4d7dcdf7d1219df8d1959ad68e565f51d14c3f0d88bb71cd59abeb956292"


def axe_script() -> tuple[str | None, str]:
    """(the script of axe.min.js or None, why it is missing)."""
    folder = default_cache_dir() / "npm"
    tarball = folder / TARBALL
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            return None, "npm is not installed (axe-core comes from its npm package)"
        folder.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([npm, "pack", SPEC, "--pack-destination", str(folder), "--silent"],
                              capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode != 0 or not tarball.exists():
            return None, f"npm pack {SPEC} failed: {proc.stderr.strip()[-300:]}"
    if hashlib.sha256(tarball.read_bytes()).hexdigest() != SHA256:
        tarball.unlink()
        return None, f"{TARBALL} does not have the pinned sha256"
    with tarfile.open(tarball, "r:gz") as tar:
        member = tar.extractfile("package/axe.min.js")
        if member is None:
            return None, "axe.min.js is missing from the package"
        return member.read().decode("utf-8"), ""
