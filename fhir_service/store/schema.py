"""Relational schema of the generic resource store (SQLite and PostgreSQL).

* ``resources``: the current version of each resource (bytes as served), one row per
  (type, id), with a surrogate ``pk`` that never changes and grows with creation order.
* ``history``: every version, with a global sequence for system history.
* ``idx_*``: one table per search parameter type, rows of the *current* version, filled at
  write time from the SearchParameter expressions (see :mod:`fhir_service.search.extract`).
* ``refs``: every literal relative reference in the current version, for referential
  integrity (a referenced resource cannot be deleted).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

resources = Table(
    "resources",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("rtype", String(64), nullable=False),
    Column("rid", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated", Float, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", LargeBinary, nullable=True),
    UniqueConstraint("rtype", "rid", name="uq_resources_type_id"),
)
Index("ix_resources_type_pk", resources.c.rtype, resources.c.deleted, resources.c.pk)
Index("ix_resources_type_updated", resources.c.rtype, resources.c.updated)

history = Table(
    "history",
    metadata,
    Column("hpk", Integer, primary_key=True, autoincrement=True),
    Column("res_pk", Integer, nullable=False),
    Column("rtype", String(64), nullable=False),
    Column("rid", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated", Float, nullable=False),
    Column("method", String(8), nullable=False),
    Column("content", LargeBinary, nullable=True),
    UniqueConstraint("res_pk", "version", name="uq_history_version"),
)
Index("ix_history_type", history.c.rtype, history.c.hpk)
Index("ix_history_updated", history.c.updated)

# One table per search parameter type: (name in index names, value columns, lookup index).
# Every table also has res_pk, rtype and param, and an index on res_pk.
_INDEX_SPECS: dict[str, tuple[str, tuple[tuple[str, Any, bool], ...], tuple[str, ...]]] = {
    "token": ("token", (("system", Text, True), ("code", Text, True), ("text", Text, True)),
              ("rtype", "param", "code", "res_pk")),
    "string": ("string", (("norm", Text, False), ("exact", Text, False)),
               ("rtype", "param", "norm")),
    "date": ("date", (("low", Float, False), ("high", Float, False)),
             ("rtype", "param", "low")),
    "reference": ("ref", (("ref_type", String(64), True), ("ref_id", String(64), True),
                          ("ref_url", Text, True), ("id_system", Text, True),
                          ("id_value", Text, True)),
                  ("rtype", "param", "ref_id", "res_pk")),
    "number": ("number", (("value", Float, False),), ("rtype", "param", "value")),
    "quantity": ("quantity", (("system", Text, True), ("code", Text, True),
                              ("value", Float, False)), ("rtype", "param", "value")),
    "uri": ("uri", (("value", Text, False),), ("rtype", "param", "value")),
}


def _index_table(ptype: str) -> Table:
    short, columns, lookup = _INDEX_SPECS[ptype]
    table = Table(
        f"idx_{ptype}",
        metadata,
        Column("res_pk", Integer, nullable=False),
        Column("rtype", String(64), nullable=False),
        Column("param", String(64), nullable=False),
        *(Column(name, kind, nullable=nullable) for name, kind, nullable in columns),
    )
    Index(f"ix_{short}_lookup", *(table.c[name] for name in lookup))
    Index(f"ix_{short}_res", table.c.res_pk)
    return table


INDEX_TABLES = {ptype: _index_table(ptype) for ptype in _INDEX_SPECS}
# the columns of an index row, in the order search/extract.py builds them
INDEX_COLUMNS = {ptype: ("param", *(c[0] for c in spec[1]))
                 for ptype, spec in _INDEX_SPECS.items()}
idx_token = INDEX_TABLES["token"]
idx_string = INDEX_TABLES["string"]
idx_date = INDEX_TABLES["date"]
idx_reference = INDEX_TABLES["reference"]
idx_number = INDEX_TABLES["number"]
idx_quantity = INDEX_TABLES["quantity"]
idx_uri = INDEX_TABLES["uri"]
Index("ix_ref_target", idx_reference.c.ref_type, idx_reference.c.ref_id)

# Composite parameters (search/params.py, search/extract.py): one row per element the
# parameter's expression selects and per combination of its components' values, so that a
# search matches components of one element (the same Observation.component), never values
# of different ones. Slot i (1..COMPOSITE_SLOTS) holds component i: s<i> the system (token,
# quantity) or reference type, c<i> the code, normalised string, uri, reference id or URL,
# lo<i>/hi<i> the range of a date, the value of a number or quantity (a Range's bounds).
COMPOSITE_SLOTS = 3
_COMPOSITE_COLUMNS = tuple(
    (f"{kind}{i}", Text if kind in ("s", "c") else Float)
    for i in range(1, COMPOSITE_SLOTS + 1) for kind in ("s", "c", "lo", "hi"))
idx_composite = Table(
    "idx_composite",
    metadata,
    Column("res_pk", Integer, nullable=False),
    Column("rtype", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    *(Column(name, kind, nullable=True) for name, kind in _COMPOSITE_COLUMNS),
)
Index("ix_composite_lookup", idx_composite.c.rtype, idx_composite.c.param, idx_composite.c.c1)
Index("ix_composite_res", idx_composite.c.res_pk)
INDEX_TABLES["composite"] = idx_composite
INDEX_COLUMNS["composite"] = ("param", *(name for name, _ in _COMPOSITE_COLUMNS))

refs = Table(
    "refs",
    metadata,
    Column("res_pk", Integer, nullable=False),
    Column("target_type", String(64), nullable=False),
    Column("target_id", String(64), nullable=False),
)
Index("ix_refs_target", refs.c.target_type, refs.c.target_id)
Index("ix_refs_res", refs.c.res_pk)

# --- access control (security) ------------------------------------------------------------
# The patients a resource belongs to (Patient compartment, from the official
# CompartmentDefinition), filled at write time; the access policy joins it with the grants.
res_patient = Table(
    "res_patient",
    metadata,
    Column("res_pk", Integer, nullable=False),
    Column("patient_id", String(64), nullable=False),
)
Index("ix_res_patient_res", res_patient.c.res_pk, res_patient.c.patient_id)
Index("ix_res_patient_patient", res_patient.c.patient_id)

# The people each version belonged to (history, vread): a version stays theirs after the
# resource moves to someone else or is deleted (a deletion keeps its last version's people).
hist_patient = Table(
    "hist_patient",
    metadata,
    Column("hpk", Integer, nullable=False),
    Column("patient_id", String(64), nullable=False),
)
Index("ix_hist_patient_hpk", hist_patient.c.hpk, hist_patient.c.patient_id)

# Which structure (Organization id) may see which patient, from when to when, and why:
# derived at write time from CareTeam participants, active Consents and EpisodeOfCare
# managing organisations (source_pk = the resource the grant comes from).
access_grants = Table(
    "access_grants",
    metadata,
    Column("source_pk", Integer, nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("org_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # careteam | consent | episode
    Column("start", Float, nullable=False),
    Column("end", Float, nullable=True),
)
Index("ix_grants_lookup", access_grants.c.org_id, access_grants.c.patient_id)
Index("ix_grants_source", access_grants.c.source_pk)
Index("ix_grants_patient", access_grants.c.patient_id)

# Who may change a resource (security/policy.py, "ownership"): the structure that manages a
# directory resource, or the custodian of a person's shared resource. Kept across versions
# (a row per resource, rewritten by each write); no row: the server's own data, which only
# the server and operators change (directory) or any entitled structure (a person's data).
res_owner = Table(
    "res_owner",
    metadata,
    Column("res_pk", Integer, primary_key=True, autoincrement=False),
    Column("org_id", String(64), nullable=True),
)

# Registered API clients (SMART Backend Services), each bound to a structure.
clients = Table(
    "clients",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("name", Text, nullable=False),
    Column("structure", String(64), nullable=True),  # Organization id in this store
    Column("practitioner", String(64), nullable=True),  # Practitioner id (fhirUser)
    Column("scopes", Text, nullable=False),  # the scopes it may be granted
    Column("role", String(16), nullable=False, default="client"),  # client | operator
    Column("jwks", Text, nullable=True),  # public keys for private_key_jwt, JSON
    Column("active", Boolean, nullable=False, default=True),
    Column("created", Float, nullable=False),
)

# Client assertions already accepted (SMART Backend Services: a jti is used once), shared by
# every worker and kept across restarts until the assertion has expired; the key is a digest
# of the client id and the jti (a jti is unique per client, and of any length).
auth_jti = Table(
    "auth_jti",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires", Float, nullable=False),
)
Index("ix_auth_jti_expires", auth_jti.c.expires)

# Practitioner sign-in (SMART App Launch, security/accounts.py and security/smart_launch.py):
# accounts of the embedded identity provider, each the login of one Practitioner; the
# password is an argon2 hash; failures and a lock-out time slow down guessing.
user_accounts = Table(
    "user_accounts",
    metadata,
    Column("username", String(128), primary_key=True),
    Column("practitioner", String(64), nullable=False),  # Practitioner id in this store
    Column("password_hash", Text, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("failures", Integer, nullable=False, default=0),  # consecutive failed logins
    Column("locked_until", Float, nullable=False, default=0.0),
    Column("created", Float, nullable=False),
)

# Public app clients (SMART App Launch): the redirect URIs they registered (exact match).
app_clients = Table(
    "app_clients",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("name", Text, nullable=False),
    Column("redirect_uris", Text, nullable=False),  # JSON list of absolute URIs
    Column("scopes", Text, nullable=False),  # the scopes it may ask for
    Column("active", Boolean, nullable=False, default=True),
    Column("created", Float, nullable=False),
)

# One-time authorization codes (digest of the code): bound to the client, the redirect URI
# and the PKCE challenge, short-lived, used once (the row is claimed by an UPDATE).
auth_codes = Table(
    "auth_codes",
    metadata,
    Column("code", String(64), primary_key=True),  # sha256 of the code
    Column("client_id", String(128), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("code_challenge", String(128), nullable=False),
    Column("grant", Text, nullable=False),  # JSON: user, practitioner, role, structure, scope
    Column("expires", Float, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
)
Index("ix_auth_codes_expires", auth_codes.c.expires)

# --- subscriptions (fhir_service/subscriptions/, docs/subscriptions.md) ---------------------
# The outbox: one row per version written by a transaction (history row), inserted in that
# same transaction before it commits, deleted once matched against the subscriptions.
sub_outbox = Table(
    "sub_outbox",
    metadata,
    Column("opk", Integer, primary_key=True, autoincrement=True),
    Column("hpk", Integer, nullable=False),
    Column("rtype", String(64), nullable=False),
    Column("created", Float, nullable=False),
)

# The server's state of each Subscription resource: its owner (the principal that wrote
# it, whose door every notification is read through), what it watches, its channel (with
# the header secrets, never served), status and reason, the event counter, and the lease
# a delivery worker holds on it (several server processes).
sub_state = Table(
    "sub_state",
    metadata,
    Column("sub_id", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),  # topic | criteria
    Column("rtype", String(64), nullable=False),  # the resource type watched
    Column("config", Text, nullable=False),  # JSON: topic, filters, channel, payload
    Column("owner", Text, nullable=False),  # JSON: the owner principal
    Column("status", String(16), nullable=False),  # requested | active | error | off
    Column("reason", Text, nullable=True),
    Column("events", Integer, nullable=False, default=0),  # eventsSinceSubscriptionStart
    Column("due", Float, nullable=False, default=0.0),  # next work (delivery, heartbeat)
    Column("lease_until", Float, nullable=False, default=0.0),
    Column("lease_owner", String(64), nullable=True),
    Column("last_sent", Float, nullable=False, default=0.0),
    Column("created", Float, nullable=False),
)
Index("ix_sub_state_due", sub_state.c.status, sub_state.c.due)

# The events of each subscription, numbered in order (eventsSinceSubscriptionStart); a
# delivery retried after a failure or a crash carries the same numbers.
sub_events = Table(
    "sub_events",
    metadata,
    Column("sub_id", String(64), primary_key=True),
    Column("event", Integer, primary_key=True, autoincrement=False),
    Column("hpk", Integer, nullable=False),
    Column("rtype", String(64), nullable=False),
    Column("rid", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("method", String(8), nullable=False),
    Column("created", Float, nullable=False),  # when the change was committed (outbox row)
    Column("status", String(8), nullable=False),  # pending | done | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_try", Float, nullable=False, default=0.0),
)
Index("ix_sub_events_pending", sub_events.c.sub_id, sub_events.c.status, sub_events.c.event)
