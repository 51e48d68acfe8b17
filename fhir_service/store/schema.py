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

idx_token = Table(
    "idx_token",
    metadata,
    Column("res_pk", Integer, nullable=False),
    Column("rtype", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=True),
    Column("text", Text, nullable=True),
)
Index("ix_token_lookup", idx_token.c.rtype, idx_token.c.param, idx_token.c.code, idx_token.c.res_pk)
Index("ix_token_res", idx_token.c.res_pk)

idx_string = Table(
    "idx_string",
    metadata,
    Column("res_pk", Integer, nullable=False),
    Column("rtype", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    Column("norm", Text, nullable=False),
    Column("exact", Text, nullable=False),
)
Index("ix_string_lookup", idx_string.c.rtype, idx_string.c.param, idx_string.c.norm)
Index("ix_string_res", idx_string.c.res_pk)

idx_date = Table(
    "idx_date",
    metadata,
    Column("res_pk", Integer, nullable=False),
    Column("rtype", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
)
Index("ix_date_lookup", idx_date.c.rtype, idx_date.c.param, idx_date.c.low)
Index("ix_date_res", idx_date.c.res_pk)

idx_reference = Table(
    "idx_reference",
    metadata,
    Column("res_pk", Integer, nullable=False),
    Column("rtype", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    Column("ref_type", String(64), nullable=True),
    Column("ref_id", String(64), nullable=True),
    Column("ref_url", Text, nullable=True),
    Column("id_system", Text, nullable=True),
    Column("id_value", Text, nullable=True),
)
Index("ix_ref_lookup", idx_reference.c.rtype, idx_reference.c.param, idx_reference.c.ref_id,
      idx_reference.c.res_pk)
Index("ix_ref_target", idx_reference.c.ref_type, idx_reference.c.ref_id)
Index("ix_ref_res", idx_reference.c.res_pk)

idx_number = Table(
    "idx_number",
    metadata,
    Column("res_pk", Integer, nullable=False),
    Column("rtype", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    Column("value", Float, nullable=False),
)
Index("ix_number_lookup", idx_number.c.rtype, idx_number.c.param, idx_number.c.value)
Index("ix_number_res", idx_number.c.res_pk)

idx_quantity = Table(
    "idx_quantity",
    metadata,
    Column("res_pk", Integer, nullable=False),
    Column("rtype", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=True),
    Column("value", Float, nullable=False),
)
Index("ix_quantity_lookup", idx_quantity.c.rtype, idx_quantity.c.param, idx_quantity.c.value)
Index("ix_quantity_res", idx_quantity.c.res_pk)

idx_uri = Table(
    "idx_uri",
    metadata,
    Column("res_pk", Integer, nullable=False),
    Column("rtype", String(64), nullable=False),
    Column("param", String(64), nullable=False),
    Column("value", Text, nullable=False),
)
Index("ix_uri_lookup", idx_uri.c.rtype, idx_uri.c.param, idx_uri.c.value)
Index("ix_uri_res", idx_uri.c.res_pk)

refs = Table(
    "refs",
    metadata,
    Column("res_pk", Integer, nullable=False),
    Column("target_type", String(64), nullable=False),
    Column("target_id", String(64), nullable=False),
)
Index("ix_refs_target", refs.c.target_type, refs.c.target_id)
Index("ix_refs_res", refs.c.res_pk)

INDEX_TABLES = {
    "token": idx_token,
    "string": idx_string,
    "date": idx_date,
    "reference": idx_reference,
    "number": idx_number,
    "quantity": idx_quantity,
    "uri": idx_uri,
}
INDEX_COLUMNS = {
    "token": ("param", "system", "code", "text"),
    "string": ("param", "norm", "exact"),
    "date": ("param", "low", "high"),
    "reference": ("param", "ref_type", "ref_id", "ref_url", "id_system", "id_value"),
    "number": ("param", "value"),
    "quantity": ("param", "system", "code", "value"),
    "uri": ("param", "value"),
}

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
