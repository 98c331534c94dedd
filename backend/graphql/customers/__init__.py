"""Customers in the admin API: list, card, edit, bulk actions.

`types` holds the Customer type (and the Discount type it points at),
`queries` the list with its search and the card, `mutations` the edits and
the bulk actions.
"""

from backend.graphql.customers.mutations import CustomerMutations
from backend.graphql.customers.queries import CustomerQueries

ROOTS = {"query": CustomerQueries, "mutation": CustomerMutations}
