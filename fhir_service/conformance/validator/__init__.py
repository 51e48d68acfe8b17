"""Profile validation: snapshot-driven, with local terminology and FHIRPath invariants.

:class:`Validator` (``engine``) validates FHIR R4 JSON against the core definitions, the
loaded IG profiles and the profiles a resource claims; see ``docs`` in the module
docstrings for what is checked.
"""

from fhir_service.conformance.validator.engine import Validator

__all__ = ["Validator"]
