"""Demo data: a believable shop that comes out the same for the same seed.

`generate` fills an empty database with customers, their tags and discounts,
cashiers, segments and a few past broadcasts with their delivery ledger. The
whole population is first planned in memory from one `random.Random(seed)`
and a fixed `now`, then written with Core bulk inserts in one transaction, so
two runs on empty databases give identical rows and a failed run leaves none.

The plan follows what the services would have done, so screens and reports
look like a shop that has been running for a year and a half:

* customers register with /start and mostly consent at once (subscribed_at ==
  created_at); the ones who left are `unsubscribed` (consent withdrawn) or
  `blocked` (found out when a message bounced: a broadcast delivery marked
  "blocked", consent kept as `mark_blocked` keeps it);
* most subscribers got the welcome discount once (once_key "subscription"),
  every customer active on a birthday got that year's birthday discount
  (once_key "birthday:YYYY", issued at 09:00 in the shop's zone), admins gave
  a few manual ones with a reason, and the last broadcast carried a promo;
* percents and validity come from the shop settings (their defaults on a
  fresh database); a discount is active only while it has not expired,
  expired ones are past their date, redeemed ones were used at a till during
  opening hours by a cashier who had already joined, cancelled ones were
  withdrawn in time.

No admins are created: the first owner is made with `dvorik create-admin`.

The package: `detailed` (`generate`) and `volume` (`generate_volume`, for
benchmark sizes) write what `planner` draws from the words in `vocabulary`
and the fixed cast in `shop`; `existing` reads what is already there,
`writing` inserts the rows, `subscribers` makes a bare audience for tests.
"""

from backend.demo_data.detailed import generate
from backend.demo_data.existing import has_data
from backend.demo_data.plan import DemoSummary
from backend.demo_data.shop import DEFAULT_NOW, DEFAULT_SEED, ZONE
from backend.demo_data.subscribers import add_subscribers
from backend.demo_data.vocabulary import FEMALE_NAMES, MALE_NAMES, SOURCES, SURNAMES, TAGS
from backend.demo_data.volume import DETAILED_LIMIT, generate_volume
from backend.demo_data.writing import Progress

__all__ = [
    "DEFAULT_NOW",
    "DEFAULT_SEED",
    "DETAILED_LIMIT",
    "FEMALE_NAMES",
    "MALE_NAMES",
    "SOURCES",
    "SURNAMES",
    "TAGS",
    "ZONE",
    "DemoSummary",
    "Progress",
    "add_subscribers",
    "generate",
    "generate_volume",
    "has_data",
]
