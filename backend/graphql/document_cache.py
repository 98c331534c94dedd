"""Parsed and validated documents, kept by their text: the same document is read once.

Issue 19: parsing and validating the customers page's document were about
an eighth of its CPU, every time, though the SPA sends the same ~60 documents
all day. Both answers depend only on the text (and the schema and rules),
so they are cached, least recently used out first, `DOCUMENT_CACHE_SIZE`
of each: room for the SPA's operations and GraphiQL users' ad-hoc ones, each
at most `schema.MAX_DOCUMENT_LENGTH` characters, a few MB in all.

A document that does not parse is not cached (graphql-core raises): it is
left to Strawberry's own parse, so its syntax error is reported as before
(INVALID_QUERY through `errors.TranslateErrors`). Validation is cached here
but run by `query_cost_limit.LimitQueryCost`, which adds the cost limit
(it depends on the request's variables, so it is never cached).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

DOCUMENT_CACHE_SIZE = 256

parsed: Callable[..., DocumentNode] = lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(parse)
validated: Callable[..., list[GraphQLError]] = lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(
    validate_document
)


class CachedParse(SchemaExtension):
    """Hands Strawberry the cached document for this text (with the same parse options).

    Comes after `MaxTokensLimiter`, whose token limit is one of the options
    (and so part of the key).
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is None:
            with suppress(GraphQLError):
                context.graphql_document = parsed(context.query, **context.parse_options)
        yield
