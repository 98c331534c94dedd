"""What Dvorik answers customers and cashiers, whichever Telegram app they use.

The bots' chats and the Mini Apps are two transports for one conversation: the
till's look-ups, limits, bills and refusals (`till`), the discount cards, the
birthday's and the subscription's replies (`customers`). Both transports call
these, so a rule or a wording is decided once.
"""
