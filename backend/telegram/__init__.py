"""Telegram's Bot API as the rest of Dvorik uses it, apart from any transport.

Both the bots (answering updates) and the workers (sending notifications and
broadcasts) talk to Telegram through these clients, and the admin API asks it
about channels; so they live below the transports, not in any one of them.
"""
