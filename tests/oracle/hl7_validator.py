"""The official HL7 FHIR validator as an offline test oracle.

``tools/hl7-validator/setup.sh`` resolves the HL7 validator engine
(``ca.uhn.hapi.fhir:org.hl7.fhir.validation``) with Maven and the FHIR packages it needs into the
project's ``.cache/`` folder. This module drives it: ONE JVM is started (``OracleValidator
-server``), loads R4 core + terminology + extensions once (~25 s), then validates any number of
jobs sent to it as JSON lines; each job runs on a copy of the loaded engine, so the IGs and
profiles given for one job never leak into the next.

    from tests.oracle.hl7_validator import HL7Validator, available

    ok, reason = available()
    with HL7Validator() as v:
        results = v.validate(["a.json", {"resourceType": "Patient", ...}],
                             igs=["profiles/"], profiles=["http://.../StructureDefinition/x"])
        for r in results:
            print(r.path, r.errors)

Nothing here needs a network: the engine runs with ``-tx n/a`` and network access prohibited.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETUP_SCRIPT = PROJECT_ROOT / "tools" / "hl7-validator" / "setup.sh"

# C1 only: engine start-up ~20 s instead of ~35 s on 2 busy cores, and validation no slower
DEFAULT_JAVA_OPTS = ("-Xmx3g", "-XX:+UseParallelGC", "-Xss4m", "-XX:TieredStopAtLevel=1")
START_TIMEOUT_S = 300.0
JOB_TIMEOUT_S = 300.0
ISSUE_LINE_EXT = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"
ISSUE_COL_EXT = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col"
MESSAGE_ID_EXT = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"
FILE_EXT_SUFFIX = "operationoutcome-file"


class OracleUnavailable(RuntimeError):
    """Java, the engine jars or the FHIR package cache are missing."""


class OracleError(RuntimeError):
    """The validator JVM failed, answered with an error, or timed out."""


def cache_dir() -> Path:
    env = os.environ.get("CM_FHIR_CACHE_DIR")
    return Path(env) if env else PROJECT_ROOT / ".cache"


@dataclass(frozen=True)
class Paths:
    cache: Path

    @property
    def out(self) -> Path:
        return self.cache / "hl7-validator"

    @property
    def home(self) -> Path:
        return self.cache / "hl7-validator-home"

    @property
    def classpath_file(self) -> Path:
        return self.out / "classpath.txt"

    @property
    def classes(self) -> Path:
        return self.out / "classes"

    @property
    def packages(self) -> Path:
        return self.home / ".fhir" / "packages"


REQUIRED_PACKAGES = (
    "hl7.fhir.r4.core#4.0.1",
    "hl7.terminology.r4#6.2.0",
    "hl7.fhir.uv.extensions.r4#5.2.0",
    "hl7.fhir.xver-extensions#0.1.0",
)


def available(cache: Path | None = None) -> tuple[bool, str]:
    """Whether the oracle can run here; the reason when it cannot (for ``pytest.skip``)."""
    if shutil.which("java") is None:
        return False, "java not found on PATH (the HL7 validator oracle needs a JDK 17+)"
    p = Paths(cache or cache_dir())
    if not p.classpath_file.is_file() or not (p.classes / "OracleValidator.class").is_file():
        hint = "" if shutil.which("mvn") else " (and mvn is not installed)"
        return False, f"HL7 validator not set up{hint}: run `bash tools/hl7-validator/setup.sh`"
    missing_jars = [
        j for j in p.classpath_file.read_text().strip().split(os.pathsep) if j and not Path(j).is_file()
    ]
    if missing_jars:
        return False, f"{len(missing_jars)} validator jars missing from the Maven cache: rerun setup.sh"
    missing = [pk for pk in REQUIRED_PACKAGES if not (p.packages / pk / "package" / "package.json").is_file()]
    if missing:
        return False, f"FHIR packages missing from {p.packages}: {', '.join(missing)}; rerun setup.sh"
    return True, "ready"


def ensure_setup(timeout: float = 1800.0) -> tuple[bool, str]:
    """Run setup.sh when the oracle is not ready and the tools to set it up are present.

    Returns ``available()``'s answer afterwards. Set ``CM_FHIR_ORACLE_NO_SETUP=1`` to only check.
    """
    ok, reason = available()
    if ok or os.environ.get("CM_FHIR_ORACLE_NO_SETUP") == "1" or shutil.which("java") is None:
        return ok, reason
    for tool in ("java", "javac", "mvn"):
        if shutil.which(tool) is None:
            return False, f"{reason}; cannot set it up here: {tool} not found"
    try:
        proc = subprocess.run(
            ["bash", str(SETUP_SCRIPT)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"tools/hl7-validator/setup.sh did not finish within {timeout:.0f} s"
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        return False, f"tools/hl7-validator/setup.sh failed (exit {proc.returncode}): {tail}"
    return available()


@dataclass(frozen=True)
class Issue:
    severity: str  # fatal | error | warning | information
    code: str  # OperationOutcome issue type (structure, required, invalid, ...)
    expression: str | None  # FHIRPath of the element
    location: str | None
    message: str
    line: int | None = None
    col: int | None = None
    message_id: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity in ("error", "fatal")

    def __str__(self) -> str:
        where = self.expression or self.location or "-"
        pos = f" (line {self.line}, col {self.col})" if self.line else ""
        return f"{self.severity} [{self.code}] @ {where}{pos}: {self.message}"


@dataclass
class FileResult:
    path: str
    issues: list[Issue] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)  # the raw OperationOutcome (R5 JSON)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.errors


def _ext_value(element: Mapping[str, Any], url: str) -> Any:
    for ext in element.get("extension", ()) or ():
        if ext.get("url") == url:
            for key, value in ext.items():
                if key.startswith("value"):
                    return value
    return None


def issues_from_outcome(outcome: Mapping[str, Any]) -> list[Issue]:
    out = []
    for iss in outcome.get("issue", ()) or ():
        expr = iss.get("expression") or []
        loc = iss.get("location") or []
        details = iss.get("details") or {}
        out.append(
            Issue(
                severity=iss.get("severity", ""),
                code=iss.get("code", ""),
                expression=expr[0] if expr else None,
                location=loc[0] if loc else None,
                message=details.get("text") or iss.get("diagnostics") or "",
                line=_ext_value(iss, ISSUE_LINE_EXT),
                col=_ext_value(iss, ISSUE_COL_EXT),
                message_id=_ext_value(iss, MESSAGE_ID_EXT),
            )
        )
    return out


def _file_of(outcome: Mapping[str, Any]) -> str | None:
    for ext in outcome.get("extension", ()) or ():
        if str(ext.get("url", "")).endswith(FILE_EXT_SUFFIX):
            return ext.get("valueString")
    return None


class HL7Validator:
    """One validator JVM, started lazily, reused for every call until ``close()``."""

    def __init__(
        self,
        *,
        version: str = "4.0.1",
        igs: Sequence[str | os.PathLike[str]] = (),
        cache: Path | None = None,
        java_opts: Sequence[str] | None = None,
        start_timeout: float = START_TIMEOUT_S,
        job_timeout: float = JOB_TIMEOUT_S,
        log_path: Path | None = None,
    ) -> None:
        self.version = version
        self.base_igs = [str(Path(i).resolve()) if Path(i).exists() else str(i) for i in igs]
        self.paths = Paths(cache or cache_dir())
        env_opts = os.environ.get("HL7_VALIDATOR_JAVA_OPTS")
        if java_opts is None:
            java_opts = env_opts.split() if env_opts else DEFAULT_JAVA_OPTS
        self.java_opts = list(java_opts)
        self.start_timeout = start_timeout
        self.job_timeout = job_timeout
        self.log_path = log_path or self.paths.out / "oracle-jvm.log"
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._log_fh = None
        self._lock = threading.Lock()
        self._pump_thread: threading.Thread | None = None
        self._seq = 0
        self._tmp: str | None = None  # for resources given as dicts; made when first needed
        self.start_seconds: float | None = None
        self.packages: str | None = None
        self.last_job_ms: int | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def command(self) -> list[str]:
        cp = f"{self.paths.classes}{os.pathsep}{self.paths.classpath_file.read_text().strip()}"
        cmd = ["java", *self.java_opts, f"-Duser.home={self.paths.home}", "-cp", cp, "OracleValidator"]
        cmd += ["-server", "-version", self.version, "-tx", "n/a"]
        for ig in self.base_igs:
            cmd += ["-ig", ig]
        return cmd

    def start(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        ok, reason = available(self.paths.cache)
        if not ok:
            raise OracleUnavailable(reason)
        env = dict(os.environ, HOME=str(self.paths.home))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_fh = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        t0 = time.monotonic()
        self._proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_fh,
            text=True,
            encoding="utf-8",
            env=env,
            bufsize=1,
        )
        self._lines = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, args=(self._proc, self._lines), daemon=True)
        self._pump_thread.start()
        ready = self._read_json(self.start_timeout, "start-up")
        if not ready.get("ready"):
            self.close()
            raise OracleError(f"unexpected first line from the validator: {ready}")
        self.start_seconds = time.monotonic() - t0
        self.packages = ready.get("packages")

    @staticmethod
    def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def _log_tail(self, n: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-n:])

    def _read_json(self, timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise OracleError(f"HL7 validator {what} timed out after {timeout:.0f} s\n{self._log_tail()}")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                rc = self._proc.wait() if self._proc else None
                self.close()
                raise OracleError(f"HL7 validator JVM exited (code {rc}) during {what}\n{self._log_tail()}")
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - best effort, then kill
                proc.kill()
                proc.wait()
        if proc is not None:
            if self._pump_thread is not None:
                self._pump_thread.join(timeout=10)
                self._pump_thread = None
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> HL7Validator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- validation ------------------------------------------------------------------------
    def _materialise(self, sources: Iterable[str | os.PathLike[str] | Mapping[str, Any]]) -> list[str]:
        paths = []
        job_dir = None
        for n, src in enumerate(sources):
            if isinstance(src, Mapping):
                if self._tmp is None:
                    self._tmp = tempfile.mkdtemp(prefix="hl7-oracle-")
                job_dir = Path(self._tmp) / f"job{self._seq}"
                job_dir.mkdir(parents=True, exist_ok=True)
                name = f"{n:04d}-{src.get('resourceType', 'Resource')}-{src.get('id', 'x')}.json"
                target = job_dir / "".join(c if c.isalnum() or c in "-._" else "_" for c in name)
                target.write_text(json.dumps(src, ensure_ascii=False), encoding="utf-8")
                paths.append(str(target))
            else:
                p = Path(src)
                if not p.exists():
                    raise FileNotFoundError(p)
                paths.append(str(p.resolve()))
        return paths

    def validate(
        self,
        sources: Sequence[str | os.PathLike[str] | Mapping[str, Any]],
        *,
        igs: Sequence[str | os.PathLike[str]] = (),
        profiles: Sequence[str] = (),
        options: Mapping[str, Any] | None = None,
        load_sources: bool = True,
        timeout: float | None = None,
    ) -> list[FileResult]:
        """Validate files and/or resources (dicts) in one job; one FileResult per source, in order.

        ``igs``: folders, files or .tgz packages with our definitions (loaded for this job only).
        ``profiles``: canonical URLs to validate against (like the CLI's ``-profile``).
        ``options``: InstanceValidatorParameters settings, e.g. ``{"allowExampleUrls": True}``.
        ``load_sources``: as the CLI does, load every source into the job's context first, so
        sources validated together resolve each other (a CodeSystem or profile among them is
        used for the others); False validates each source on its own.
        """
        if not sources:
            return []
        with self._lock:
            self.start()
            self._seq += 1
            paths = self._materialise(sources)
            job = {
                "id": str(self._seq),
                "sources": paths,
                "igs": [str(Path(i).resolve()) if Path(i).exists() else str(i) for i in igs],
                "profiles": list(profiles),
                "loadSources": bool(load_sources),
            }
            if options:
                job["options"] = {k: v for k, v in options.items()}
            assert self._proc is not None and self._proc.stdin is not None
            try:
                self._proc.stdin.write(json.dumps(job) + "\n")
                self._proc.stdin.flush()
            except BrokenPipeError as e:
                self.close()
                raise OracleError(f"HL7 validator JVM is gone\n{self._log_tail()}") from e
            resp = self._read_json(timeout or self.job_timeout, f"job {job['id']}")
        self.last_job_ms = resp.get("ms")
        if resp.get("id") != job["id"]:
            raise OracleError(f"answer out of step: sent job {job['id']}, got {resp.get('id')}")
        if "error" in resp:
            raise OracleError(f"HL7 validator failed on job {job['id']}: {resp['error']}")
        by_file: dict[str, dict[str, Any]] = {}
        ordered = []
        for res in resp.get("results", []):
            outcome = res.get("outcome") or {}
            f = res.get("file") or _file_of(outcome)
            ordered.append((f, outcome))
            if f:
                by_file[str(Path(f).resolve()) if os.path.isabs(f) else f] = outcome
        results = []
        for n, p in enumerate(paths):
            outcome = by_file.get(p)
            if outcome is None and len(ordered) == len(paths):
                outcome = ordered[n][1]
            if outcome is None:
                raise OracleError(f"no outcome for {p} in the validator's answer")
            results.append(FileResult(path=p, issues=issues_from_outcome(outcome), outcome=outcome))
        return results

    def validate_one(self, source: str | os.PathLike[str] | Mapping[str, Any], **kwargs: Any) -> FileResult:
        return self.validate([source], **kwargs)[0]
