"""The generic mapping engine: declarative maps (data, in ``mappings/``) between a source
format described by a JSON Schema / FHIR logical model and FHIR resources conforming to
profiles.

The engine knows no domain word. A *mapping set* is a folder of JSON documents, layered as
FHIR-Converter and Whistle do (https://github.com/microsoft/FHIR-Converter):

- ``entry.json``: the entry map of one source format (its schema, the resource maps in
  order, the checks, the provenance map);
- ``resources/*.json``: one map per target resource, typed at both ends (``source`` = an
  element of the logical model, ``target`` = a profile), with a template;
- ``datatypes.json``: reusable datatype templates;
- ``identity.json``: identity and ownership per resource type (deterministic ids, shared
  entities matched by identifiers);
- ``wiring.json``: how a local key in the source becomes a reference to another resource;
- ``codes/*.json``: code tables, shaped as FHIR ConceptMaps;
- ``export.json``: the reverse map (FHIR → source), FHIRPath leaves;
- tabular forms named by the entry map (e.g. ``mappings/goals-csv/goals.json``): sheets whose
  rows update one array of existing documents.

A map that names a path the schema or the FHIR definitions do not know fails when loaded
(:class:`~fhir_service.mapping.loader.MapLoadError`).
"""
