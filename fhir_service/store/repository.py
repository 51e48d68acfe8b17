"""The repository protocol every storage implementation provides (one contract suite).

A repository hands out sessions: a *read* session sees one consistent state, a *write*
session is one atomic database transaction (a FHIR transaction bundle is one write session).
Access rules are passed in as a :class:`AccessFilter` that adds conditions to every query, so
the database computes counts and pages over what the caller may see; there is no default:
requests reach sessions only through the door bound to their caller (security/door.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from fhir_service.search.extract import IndexRows
from fhir_service.search.query import SearchQuery

if TYPE_CHECKING:
    from fhir_service.security.policy import Grant

# the raw form of an access rule: (structure, instant, operator); None: no rule
RawAccess = tuple[str | None, float, bool]


@dataclass(frozen=True)
class Stored:
    pk: int
    rtype: str
    rid: str
    version: int
    updated: float
    deleted: bool
    content: bytes | None
    method: str = "PUT"
    # the people (Patient ids) the resource belongs to, when the read already looked them up
    # (the audit record then needs no query of its own); None: not looked up
    patients: tuple[str, ...] | None = field(default=None, compare=False)


@dataclass
class SearchPage:
    pks: list[int]
    total: int | None
    has_more: bool
    snapshot: int
    rows: list[Stored] = field(default_factory=list)


class AccessFilter(Protocol):
    """Adds the caller's access rules to a query on the resources table (see
    security/policy.py); ``condition`` answers None only for the unrestricted rule."""

    unrestricted: bool

    def condition(self, res: Any) -> Any | None: ...

    def condition_for(self, pk_col: Any, rtype_col: Any) -> Any | None: ...

    def referenceable(self, res: Any) -> Any | None: ...

    def version_condition(self, hist: Any) -> Any | None: ...

    @property
    def raw(self) -> RawAccess | None:
        """The rule as data (structure, instant, operator), None when unrestricted: what
        the raw-SQL reads and the in-memory store evaluate (security.policy.decide)."""
        ...


class Session(Protocol):
    def get(self, rtype: str, rid: str) -> Stored | None: ...

    def get_version(self, rtype: str, rid: str, version: int) -> Stored | None: ...

    def fetch(self, pks: Iterable[int]) -> list[Stored]: ...

    def search(self, query: SearchQuery, access: AccessFilter) -> SearchPage: ...

    def count(self, query: SearchQuery, access: AccessFilter) -> int: ...

    def include_targets(
        self, pks: list[int], param: str | None, source_type: str, target_type: str | None
    ) -> list[tuple[str, str]]: ...

    def revinclude_sources(
        self, keys: list[tuple[str, str]], source_type: str, param: str | None
    ) -> list[int]: ...

    def lookup(self, keys: list[tuple[str, str]], access: AccessFilter) -> list[Stored]: ...

    def existing(self, keys: list[tuple[str, str]], access: AccessFilter
                 ) -> set[tuple[str, str]]: ...

    def history(
        self,
        rtype: str | None,
        rid: str | None,
        since: float | None,
        before: float | None,
        count: int,
        offset: int,
        snapshot: int | None,
        access: AccessFilter,
    ) -> tuple[list[Stored], int, int]: ...

    def referencing(self, rtype: str, rid: str, limit: int = 5) -> list[tuple[str, str]]: ...

    def write(
        self,
        rtype: str,
        rid: str,
        version: int,
        updated: float,
        content: bytes,
        method: str,
        rows: IndexRows,
        refs_out: list[tuple[str, str]],
        existing_pk: int | None = None,
    ) -> Stored: ...

    def append_many(self, items: list[tuple[str, str, float, bytes, IndexRows, list[str]]]
                    ) -> None:
        """New resources (version 1) in bulk, with index rows and people (the audit trail)."""
        ...

    def delete(self, pk: int, rtype: str, rid: str, version: int, updated: float) -> None: ...

    def lock(self, rtype: str, rid: str) -> None: ...

    def lock_type(self, rtype: str) -> None: ...

    def prepare_writes(self, keys: list[tuple[str, str]]) -> None: ...

    def max_pk(self) -> int: ...

    def filter_visible(self, pks: list[int], access: AccessFilter) -> list[int]: ...

    def visible(self, pk: int, access: AccessFilter) -> bool: ...

    # --- access and ownership rows (security/policy.py; the door passes them through) -----

    def set_access_rows(self, pk: int, patients: list[str], grants: list[Grant]) -> None: ...

    def replace_grants(self, pk: int, grants: list[Grant]) -> None: ...

    def patients_by_pk(self, pks: list[int]) -> dict[int, list[str]]: ...

    def current_patients(self, pk: int) -> set[str]: ...

    def patients_of_versions(self, keys: list[tuple[str, str, int | None]]) -> set[str]: ...

    def patients_of_keys(self, keys: list[tuple[str, str]]) -> set[str]: ...

    def owner_row(self, pk: int) -> tuple[bool, str | None]: ...

    def set_owner(self, pk: int, org: str | None) -> None: ...

    def organization_owner(self, org_id: str) -> str: ...

    def role_owner(self, role_id: str) -> str | None: ...

    def role_organization(self, role_id: str) -> str | None: ...

    def referencing_sources(self, source_type: str, target_type: str,
                            target_id: str) -> list[Stored]: ...

    def has_grant(self, org: str, patient: str, now: float) -> bool: ...

    def episode_managers(self, patients: set[str]) -> set[str]: ...

    def patient_has_grants(self, patient: str) -> bool: ...


class Repository(Protocol):
    def read_visible(self, rtype: str, rid: str, access: RawAccess | None
                     ) -> tuple[Stored | None, bool]:
        """Read by id, with the raw form of the access rule (structure, instant, operator);
        None only for the server's own reads (security/door.py decides)."""
        ...

    def version_visible(self, pk: int, version: int, rtype: str, access: RawAccess
                        ) -> tuple[bool, tuple[str, ...]]:
        """The rule for one version (vread, a deletion): by that version's people; (visible,
        those people)."""
        ...

    def read_session(self) -> AbstractContextManager[Session]: ...

    def write_session(self) -> AbstractContextManager[Session]: ...

    def close(self) -> None: ...
