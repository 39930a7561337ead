"""The one outbound path for every message Rapport sends to a person.

* :mod:`~rapport.campaigns.delivery.guards` — why a message must not go (consent for marketing,
  bounced addresses, frequency caps, de-duplication), once, as SQL;
* :mod:`~rapport.campaigns.delivery.outbound` — one-off messages: sign-in codes, ticket replies,
  satisfaction surveys, staff notices; held to the same guards and sent through the same channel
  adapters (:mod:`rapport.campaigns.delivery.channels`) as campaign messages, recorded as messages so that
  bounces (:mod:`rapport.campaigns.delivery.bounces`) and delivery reports find them;
* campaign messages are planned by :mod:`rapport.campaigns.journeys.engine` with the same guards and
  dispatched by :func:`rapport.campaigns.delivery.channels.deliver_due`.

Without a transport every channel keeps the message in the outbox folder and logs one line with
the address masked and without the body.
"""

from rapport.campaigns.delivery.outbound import TransactionalResult, notify_staff, send_transactional

__all__ = ["TransactionalResult", "notify_staff", "send_transactional"]
