"""wirewatch benchmarks: ``python -m benchmarks [--quick] [--json] [--only STAGE]``.

Not part of the installed package and not run by CI; see NOTES-bench.md / the README.
"""

STAGES = ("corpus", "ingest", "matching", "lookups", "polling", "memory")
