"""FHIRPath for the whole service (https://hl7.org/fhirpath/N1/, R4 additions in
https://hl7.org/fhir/R4/fhirpath.html).

* :mod:`.rewrites` — every rewrite of R4 expressions (search parameters, invariants, errata);
* :mod:`.paths` — plain paths compiled to JSON walkers (search index extraction, composites);
* :mod:`.engine` — the general engine (fhirpathpy, R4 model), the only importer of fhirpathpy.

The validator's invariant compiler (``conformance/validator/native.py``) and the reverse mapper
reach fhirpathpy through :mod:`.engine`.
"""
