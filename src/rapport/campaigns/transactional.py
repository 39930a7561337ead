"""The earlier import path of :func:`send_transactional`, now part of :mod:`rapport.campaigns.delivery`."""

from rapport.campaigns.delivery.outbound import TransactionalResult, send_transactional

__all__ = ["TransactionalResult", "send_transactional"]
