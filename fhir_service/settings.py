"""Typed settings, in one place. Every field can be set by an environment variable
``CM_FHIR_<NAME>`` (upper case), and the CLI overrides them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from fhir_service.conformance.package import default_cache_dir, project_root


def _default_igs() -> tuple[Path, ...]:
    """The project's own implementation guide (profiles/), when present."""
    profiles = project_root() / "profiles"
    return (profiles,) if (profiles / "package-manifest.json").exists() else ()


def _default_db() -> str:
    return f"sqlite:///{project_root() / 'var' / 'cm-fhir.db'}"


@dataclass
class Settings:
    database_url: str = field(default_factory=_default_db)
    base_path: str = "/fhir"
    public_base_url: str = ""  # e.g. https://fhir.example.org/fhir; derived from requests if empty
    cache_dir: Path = field(default_factory=default_cache_dir)
    ig_packages: tuple[Path, ...] = field(default_factory=_default_igs)
    referential_integrity: bool = True
    max_body_bytes: int = 20 * 1024 * 1024
    default_count: int = 20
    max_count: int = 1000
    max_bundle_entries: int = 10_000
    demo: bool = True
    history_count: int = 50
    # validation on write (see fhir_service/operations/validate.py)
    require_profiles: bool = False  # case-management types must conform to our IG profiles
    validate_base: bool = True  # base R4 invariants and bindings, beyond the structural check
    # also parse every written resource with the fhir.resources R4B model (off: the structural
    # check covers what it catches, tests/validator/test_model_differential.py)
    validate_with_model: bool = False
    # security (see docs/security.md)
    auth: str = "embedded"  # embedded (we issue tokens) | external (trust an issuer) | off
    issuer: str = ""  # embedded: defaults to <base>/auth; external: the issuer to trust
    audience: str = ""  # defaults to the FHIR base URL
    jwks_url: str = ""  # external issuer's keys
    token_minutes: int = 60
    keys_dir: Path = field(default_factory=lambda: project_root() / "var" / "keys")
    provenance: bool = True  # a Provenance for every write
    audit: bool = True  # an AuditEvent for every access to patient data
    # append-only audit journal (a directory, or "off"); default: beside a SQLite database
    audit_journal: str = ""
    # fdatasync each journal group commit (survives power loss); off: survives a process
    # crash, like the database itself (SQLite WAL, synchronous=NORMAL)
    audit_fsync: bool = True
    # where journaled events are stored and indexed: "process" (a child process, on another
    # core: indexing does not compete with requests for the interpreter) or "thread"
    audit_indexer: str = "process"
    rate_limit_per_second: float = 50.0  # per client, token bucket
    rate_limit_burst: int = 200
    cors_origins: str = ""  # comma-separated; empty = CORS closed
    max_json_depth: int = 64
    max_string_length: int = 1_048_576
    max_search_params: int = 50
    log_level: str = "INFO"  # JSON lines on stderr (fhir_service/logs.py)
    max_or_values: int = 100  # comma-separated values of one search parameter
    max_value_length: int = 2048  # characters of one search parameter's value, or name

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {}
        for f in fields(cls):
            env = os.environ.get(f"CM_FHIR_{f.name.upper()}")
            if env is None:
                continue
            if f.type in ("bool",):
                values[f.name] = env.lower() in ("1", "true", "yes", "on")
            elif f.type in ("int",):
                values[f.name] = int(env)
            elif f.type in ("float",):
                values[f.name] = float(env)
            elif f.name in ("cache_dir", "keys_dir"):
                values[f.name] = Path(env)
            elif f.name == "ig_packages":
                values[f.name] = tuple(Path(p) for p in env.split(os.pathsep) if p)
            else:
                values[f.name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
