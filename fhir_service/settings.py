"""Typed settings, in one place (pydantic-settings).

Every field can be set by an environment variable ``CM_FHIR_<NAME>`` (upper case) when the
settings are read with :meth:`Settings.from_env` (what the CLI and the app factory do); the CLI's
options override the environment. ``Settings(...)`` alone takes only what it is given, so a
test or a bench is never changed by the shell it runs in.

Values are validated: a wrong value (``CM_FHIR_AUTH=embeded``, ``CM_FHIR_TOKEN_MINUTES=0``) is
refused at start-up with the setting's name and the values allowed (:func:`problems`), never a
raw ``ValueError`` deep in the server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from fhir_service.conformance.package import default_cache_dir, project_root


def _default_igs() -> tuple[Path, ...]:
    """The project's own implementation guide (profiles/), when present."""
    profiles = project_root() / "profiles"
    return (profiles,) if (profiles / "package-manifest.json").exists() else ()


def _default_national() -> tuple[Path, ...]:
    """The vendored national guides compiled by national/build.py (dependency order)."""
    national = project_root() / "national"
    return tuple(national / g for g in ("ans-terminology", "fr-core", "cds", "tddui")
                 if (national / g / "package-manifest.json").exists())


def _default_db() -> str:
    return f"sqlite:///{project_root() / 'var' / 'cm-fhir.db'}"


Positive = Annotated[int, Field(gt=0)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CM_FHIR_", extra="forbid",
                                      validate_assignment=True, case_sensitive=False)

    database_url: str = Field(default_factory=_default_db)
    base_path: str = "/fhir"
    public_base_url: str = ""  # e.g. https://fhir.example.org/fhir; derived from requests if empty
    cache_dir: Path = Field(default_factory=default_cache_dir)
    # implementation guides to load; in the environment: paths separated by os.pathsep
    ig_packages: Annotated[tuple[Path, ...], NoDecode] = Field(default_factory=_default_igs)
    # national guides loaded before ig_packages: FR Core, ANS Cercle de Soins, TDDUI (docs/national-guides.md)
    national_packages: Annotated[tuple[Path, ...], NoDecode] = Field(
        default_factory=_default_national)
    referential_integrity: bool = True
    max_body_bytes: Positive = 20 * 1024 * 1024
    # threads of one process that run requests other than reads by id (searches, writes,
    # operations): the interpreter runs one at a time, so more threads only hand it to each
    # other; 2 keeps one free behind a slow request (docs/scaling.md, "request threads")
    request_threads: Positive = 2
    default_count: Positive = 20
    max_count: Positive = 1000
    max_bundle_entries: Positive = 10_000
    demo: bool = True
    history_count: Positive = 50
    # validation on write (see fhir_service/operations/validate.py)
    require_profiles: bool = False  # case-management types must conform to our IG profiles
    validate_base: bool = True  # base R4 invariants and bindings, beyond the structural check
    # also parse every written resource with the fhir.resources R4B model (off: the structural
    # check covers what it catches, tests/validator/test_model_differential.py)
    validate_with_model: bool = False
    # security (see docs/security.md)
    auth: Literal["embedded", "external", "off"] = "embedded"  # embedded: we issue tokens;
    # external: trust an issuer; off: no authentication (never with real data)
    issuer: str = ""  # embedded: defaults to <base>/auth; external: the issuer to trust
    audience: str = ""  # defaults to the FHIR base URL
    jwks_url: str = ""  # external issuer's keys
    token_minutes: Positive = 60
    # practitioner sign-in, external mode (security/smart_launch.py): the claim of the
    # hospital's OIDC tokens naming the practitioner, as a value of this identifier system
    external_user_claim: str = ""  # e.g. preferred_username; empty: no user sign-in
    external_user_system: str = "https://rpps.esante.gouv.fr"
    external_authorize_url: str = ""  # its endpoints, for .well-known/smart-configuration
    external_token_url: str = ""
    keys_dir: Path = Field(default_factory=lambda: project_root() / "var" / "keys")
    provenance: bool = True  # a Provenance for every write
    audit: bool = True  # an AuditEvent for every access to patient data
    # append-only audit journal (a directory, or "off"); default: beside a SQLite database
    audit_journal: str = ""
    # fdatasync each journal group commit (survives power loss); off: survives a process
    # crash, like the database itself (SQLite WAL, synchronous=NORMAL)
    audit_fsync: bool = True
    # where journaled events are stored and indexed: "process" (a child process, on another
    # core: indexing does not compete with requests for the interpreter) or "thread"
    audit_indexer: Literal["process", "thread"] = "process"
    rate_limit_per_second: float = Field(default=50.0, ge=0)  # per client, token bucket; 0: off
    rate_limit_burst: Positive = 200
    cors_origins: str = ""  # comma-separated; empty = CORS closed
    max_json_depth: Positive = 64
    max_string_length: Positive = 1_048_576
    max_search_params: Positive = 50
    # JSON lines on stderr (fhir_service/logs.py)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    max_or_values: Positive = 100  # comma-separated values of one search parameter
    max_value_length: Positive = 2048  # characters of one search parameter's value, or name
    # bulk export (docs/exchange.md): one folder per job (job.json, NDJSON files), shared by
    # every worker process; default: beside a SQLite database file, else var/export
    export_dir: str = ""
    export_expiry_seconds: Positive = 3600  # an export's files are removed this long after
    export_workers: Positive = 1  # exports running at once per process (the others queue)
    export_max_jobs_per_client: Positive = 3  # unfinished exports per client (429 beyond)
    export_file_max_resources: Positive = 100_000  # resources per NDJSON file
    narratives: bool = True  # generated French text.div on write (docs/narratives.md)
    contact_gap_days: Positive = 60  # days without contact counted as a rupture (docs/indicators.md)
    # subscriptions (docs/subscriptions.md)
    subscriptions: bool = True  # outbox rows written with each change, notifications sent
    subscription_http_loopback: bool = False  # allow http:// endpoints on 127.0.0.1 (tests)
    subscription_endpoints: str = ""  # allow-list of endpoint URL prefixes, comma-separated
    subscription_timeout: float = 10.0  # seconds allowed per notification attempt (at most)
    subscription_attempts: int = 6  # attempts of one notification before the error state
    subscription_backoff: float = 1.0  # seconds before the first retry, doubled each time
    subscription_poll: float = 0.2  # seconds between looks for work written by other processes
    subscription_events_days: float = 30.0  # sent or failed events kept for $events
    # exchange with a partner's server (docs/sync.md)
    sync_state: str = ""  # cm-fhir sync's state file; default var/sync/state.json
    sync_identifier_system: str = ""  # identifier system sync gives what has none; default ours

    @field_validator("ig_packages", "national_packages", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(Path(p) for p in value.split(os.pathsep) if p)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what the constructor is given: the environment is read by :meth:`from_env`."""
        return (init_settings,)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """The environment's ``CM_FHIR_*`` values, then ``overrides`` (None: not given)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        try:
            return _FromEnvironment(**given)  # type: ignore[arg-type]  # (validated here)
        except ValidationError as exc:
            raise SettingsError(problems(exc)) from None

    def replace(self, **changes: object) -> Settings:
        """A validated copy with ``changes`` (what ``dataclasses.replace`` was)."""
        return type(self).model_validate({**self.model_dump(), **changes})

    def environment(self) -> dict[str, str]:
        """``CM_FHIR_*`` variables that reproduce these settings in another process."""
        env = {}
        for name, value in self.model_dump().items():
            if isinstance(value, tuple):
                text = os.pathsep.join(str(v) for v in value)
            else:
                text = str(value).lower() if isinstance(value, bool) else str(value)
            env[f"CM_FHIR_{name.upper()}"] = text
        return env


class _FromEnvironment(Settings):
    """Settings read from the environment (``CM_FHIR_<NAME>``), then from the constructor."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


class SettingsError(ValueError):
    """Settings that cannot be used; ``lines``: one per wrong setting."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("Invalid settings: " + "; ".join(lines))
        self.lines = lines


def problems(error: ValidationError) -> list[str]:
    """One readable line per wrong setting, naming its environment variable."""
    lines = []
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]) or "settings"
        detail = item["msg"]
        if item["type"] == "extra_forbidden":
            detail = "no such setting"
        lines.append(f"CM_FHIR_{name.upper()} ({name}): {detail}"
                     + (f" (got {item['input']!r})" if item["type"] != "extra_forbidden"
                        and "url" not in name and isinstance(item.get("input"), (str, int, float))
                        else ""))
    return lines
