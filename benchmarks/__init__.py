"""wirewatch benchmarks: ``python -m benchmarks [--quick] [--json] [--only STAGE]``.

Not part of the installed package and not run by CI; see docs/notes/NOTES-bench.md and the README.
"""

STAGES = ("corpus", "ingest", "matching", "lookups", "polling", "memory")
