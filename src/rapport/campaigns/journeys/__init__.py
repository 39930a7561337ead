"""Journeys: plans that move customers through steps.

* :mod:`~rapport.campaigns.journeys.triggers` — what starts a journey (events, orders, segment
  entries, dates, inactivity, and the loyalty scans :mod:`rapport.loyalty.queries` answers);
* :mod:`~rapport.campaigns.journeys.engine` — enrolment and moving each enrolment on, step by step,
  planning the messages that :mod:`rapport.campaigns.delivery` sends;
* :mod:`~rapport.campaigns.journeys.rewards` — the steps that give coupons and points;
* :mod:`~rapport.campaigns.journeys.validation` — what a plan and its steps may say.

Journeys use delivery; delivery knows nothing of journeys (an import contract in pyproject.toml).
"""
