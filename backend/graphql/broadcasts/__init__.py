"""Broadcasts in the admin API: list, card, the lifecycle mutations, live progress.

`types` is what a broadcast looks like, `queries` the list and the card,
`mutations` the lifecycle (each change committed, then the engine started and
live viewers told), `progress` the live snapshot a dashboard subscribes to.
"""

from backend.graphql.broadcasts.mutations import BroadcastMutations
from backend.graphql.broadcasts.progress import BroadcastSubscriptions
from backend.graphql.broadcasts.queries import BroadcastQueries

ROOTS = {
    "query": BroadcastQueries,
    "mutation": BroadcastMutations,
    "subscription": BroadcastSubscriptions,
}
