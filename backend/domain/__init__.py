"""The domain: models, rules and services shared by every transport.

Nothing here imports FastAPI, Strawberry, aiogram or Taskiq. Services are
plain async functions that take an `AsyncSession`, return domain objects and
raise `DomainError` subclasses that transports translate.
"""
