"""Benchmarks for the cm-fhir server: a corpus generator, a load harness and a profiler.

``python -m bench.generate`` writes a deterministic case-management corpus as FHIR
transaction bundles; ``python -m bench.run`` (``make bench``) starts the server, ingests the
corpus and measures reads, searches and includes. See ``bench/README.md``.
"""
