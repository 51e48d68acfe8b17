"""Whole records out: what ``$everything`` and Bulk Data ``$export`` select (``selection``)
and the asynchronous export jobs with their NDJSON files (``jobs``). See docs/exchange.md,
"Whole records out"."""
