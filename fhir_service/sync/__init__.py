"""Exchange with another FHIR server: ``cm-fhir sync push|pull`` (docs/sync.md)."""
