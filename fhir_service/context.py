"""What every interaction needs: definitions, search parameters, checks, storage, a clock."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fhir_service.conformance.package import ensure_core_package
from fhir_service.conformance.registry import Registry, build_registry
from fhir_service.conformance.structure import StructureChecker
from fhir_service.outcomes import Issue
from fhir_service.search.params import SearchParamRegistry
from fhir_service.search.query import QueryParser
from fhir_service.security.policy import AccessPolicy
from fhir_service.settings import Settings
from fhir_service.store.repository import Repository
from fhir_service.store.sqlstore import SqlRepository


def instant(ts: float) -> str:
    """FHIR instant with millisecond precision, UTC."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def http_date(ts: float) -> str:
    from email.utils import formatdate

    return formatdate(ts, usegmt=True)


class Clock:
    """Monotonic wall clock: never returns the same or an earlier instant twice (ms steps)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._last = 0.0

    def __call__(self) -> float:
        t = round(self._now(), 3)
        if t <= self._last:
            t = round(self._last + 0.001, 3)
        self._last = t
        return t

    def wall(self) -> float:
        """The current instant without the uniqueness step, for records that need no unique
        instant (audit events): under more than 1,000 calls a second the stepped clock runs
        ahead of real time, this one does not."""
        return round(self._now(), 3)


@dataclass
class FhirContext:
    settings: Settings
    registry: Registry
    params: SearchParamRegistry
    checker: StructureChecker
    repository: Repository  # (store/repository.py: SQL, or in memory)
    parser: QueryParser
    resource_types: list[str]
    clock: Clock = field(default_factory=Clock)
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    operations: dict[str, object] = field(default_factory=dict)
    policy: AccessPolicy | None = None
    # profile validation on write (set by the validator operation module); returns issues
    profile_validator: Callable[[dict[str, Any]], list[Issue]] | None = None

    def door(self, principal: Any) -> Any:
        """The store as ``principal`` sees it (security/door.py): the only way from a
        request to storage."""
        from fhir_service.security.door import for_caller

        return for_caller(self.repository, self.policy, principal)

    def sql(self, feature: str) -> SqlRepository:
        """The SQL store, for a feature that needs its engine (accounts and clients, the
        subscriptions' commit listener): a clear error on another store."""
        if not isinstance(self.repository, SqlRepository):
            raise RuntimeError(f"{feature} needs the SQL store (SQLite or PostgreSQL), not "
                               f"{type(self.repository).__name__}")
        return self.repository

    def close(self) -> None:
        self.repository.close()


def build_context(settings: Settings) -> FhirContext:
    core = ensure_core_package(settings.cache_dir)
    registry = build_registry(core, [*settings.national_packages, *settings.ig_packages])
    types = registry.resource_types()
    params = SearchParamRegistry(registry, types)
    local_bases = (settings.public_base_url,) if settings.public_base_url else ()
    repository = SqlRepository(settings.database_url, local_bases)
    parser = QueryParser(params, settings.default_count, settings.max_count,
                         max_or_values=settings.max_or_values,
                         max_value_length=settings.max_value_length)
    return FhirContext(
        settings=settings,
        registry=registry,
        params=params,
        checker=StructureChecker(registry, settings.max_json_depth,
                                 settings.max_string_length),
        repository=repository,
        parser=parser,
        resource_types=types,
        policy=AccessPolicy(registry),
    )
