"""What happened to orders, for the domains that react to it (points, journeys, tickets).

Sent inside the service's transaction, after the order or refund is written: a receiver that
writes (earning points) commits or rolls back with the order; a receiver that starts slow work
should ``rapport.core.jobs.enqueue`` it, which runs after the commit. Every way an order arrives
(API, import, tracking events, console) goes through ``commerce.services``, so these fire for all.
"""

from __future__ import annotations

from django.dispatch import Signal

order_saved = Signal()
"""``order``: the saved Order; ``created``: new or updated; ``previous_status``: "" when new."""

refund_recorded = Signal()
"""``refund``: the new Refund (its ``order`` carries the updated refunded total and status)."""
