"""``loom bench``: the benchmark suites Loom ships (pytest-benchmark, each beside its reference in the same run), and
the report they make: ratios against goals, charts, and a comparison of two reports."""

from pipeline.bench._report import (
    SUITES,
    Measurement,
    Ratio,
    Report,
    Skipped,
    compare,
    format_seconds,
    load_report,
    ratios,
    run_suites,
    write_report,
)

__all__ = [
    "SUITES",
    "Measurement",
    "Ratio",
    "Report",
    "Skipped",
    "compare",
    "format_seconds",
    "load_report",
    "ratios",
    "run_suites",
    "write_report",
]
