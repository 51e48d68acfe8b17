"""FHIR R4 (4.0.1) interoperability service for case management in French mental health."""

__version__ = "0.1.0"
