"""Telegram: the customer bot and the cashier bot, and their webhook registration."""
