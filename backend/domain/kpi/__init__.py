"""Key figures over a period, with chart series: the admins' dashboard and analysts' queries.

A period is a run of business-calendar days (both ends included) in the shop's
zone (`period`). Built to stay cheap at a million customers and millions of
discounts:

* `kpi` (`report`) reads closed days from the daily rollup (`rollup`: a few
  hundred day rows, added up by `tally`) and counts only today, and any day the
  rollup lacks, from the rows; what has no history (customer statuses, sent
  messages, names) is read live. About a dozen statements, whatever the
  period's length.
* `kpi_live` (`live`) counts everything from the rows, one grouped statement
  per measure family (six): the reference the rollup is checked against, and
  the report for a zone whose UTC offset changes within the period.
* The database aggregates (GROUP BY), by local day (`days`); no customer or
  discount row is loaded. Days are folded into weeks or months in Python.
* Every bucket of the window is present in every series, zeros included and in
  order, so a chart draws a series as it is (`sections`, one shaping for both).

The parts: `figures` (what a report holds), `period` (the window and its
buckets), `days` (business days in SQL), `sections` (counts into figures),
`live`, `report`, `counting` (rows into day counts), `rollup` (stored days:
`lacks`, `remember`, `forget`), `tally`, and `stats` (the discounts card).
"""

from backend.domain.kpi.figures import (
    BroadcastConversion,
    CashierRedemptions,
    CustomerKpi,
    DiscountKindKpi,
    DiscountKpi,
    Granularity,
    KpiReport,
    Point,
    RedemptionKpi,
    Series,
    StoreRedemptions,
)
from backend.domain.kpi.live import kpi_live
from backend.domain.kpi.period import MAX_WINDOW_DAYS, bucket_start, check_period
from backend.domain.kpi.report import kpi
from backend.domain.kpi.sections import NO_STORE
from backend.domain.kpi.stats import DiscountStats, KindCount, StatusCount, discount_stats

__all__ = [
    "MAX_WINDOW_DAYS",
    "NO_STORE",
    "BroadcastConversion",
    "CashierRedemptions",
    "CustomerKpi",
    "DiscountKindKpi",
    "DiscountKpi",
    "DiscountStats",
    "Granularity",
    "KindCount",
    "KpiReport",
    "Point",
    "RedemptionKpi",
    "Series",
    "StatusCount",
    "StoreRedemptions",
    "bucket_start",
    "check_period",
    "discount_stats",
    "kpi",
    "kpi_live",
]
