"""The demo shop: a deterministic, realistic Chinese omni-channel retailer for the embedded default.

:mod:`.generator` plans the shop in memory from a seed (stores, catalogue, customers, orders,
refunds); :mod:`.loader` writes the plan in one transaction with bulk inserts, the way the
services would have written it. ``rapport seed_demo`` runs both; :mod:`.embedded` prepares
the database (migrations, static files, demo shop) for ``rapport run``.
"""
