"""Result records (one JSON per run) and the leaderboard tables rendered from them.

The record API is re-exported here; the leaderboard lives in ``rsbench.results.leaderboard``
(it imports pandas, which the run itself does not need).
"""

from __future__ import annotations

from rsbench.results.record import (
    COST_KEYS,
    METRIC_KEYS,
    SkippedRecordWarning,
    config_label,
    load_records,
    make_record,
    method_label,
    write_record,
)

__all__ = [
    "COST_KEYS",
    "METRIC_KEYS",
    "SkippedRecordWarning",
    "config_label",
    "load_records",
    "make_record",
    "method_label",
    "write_record",
]
