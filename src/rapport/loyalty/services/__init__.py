"""Business rules for customer assets, one module per asset on top of the shared ledger.

- :mod:`.ledger` — accounts, credits, debits (FIFO over lots), returns, expiry, merges
- :mod:`.points` — earn rules, earning on orders and events, refund reversal, adjustments, expiry
- :mod:`.stored_value` — top-up with bonus, spend, refund of principal
- :mod:`.coupons` — templates, codes, issue and claim, redeem exactly once, return, expiry
- :mod:`.levels` — growth value, upgrades on events, downgrades at review
- :mod:`.cards` — benefit cards: grant or sell, renew, expire
- :mod:`.checkout` — quote, redeem together, reverse
"""
