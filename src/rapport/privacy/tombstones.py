"""Tracking messages from erased identities: stored, but anonymously and linked to no one.

The events resolver asks :func:`erased_user_ids` which of a batch's user ids belong to erased
customers (an identity that is live again, because the person registered anew through the portal
or the shop's customer API, is not asked about), skips their identify and alias calls, and calls
:func:`anonymise_stored` on the events it stored for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rapport.core.pii import identity_index
from rapport.events.messages import Message
from rapport.events.models import Event, Source
from rapport.privacy.models import ErasedIdentity


def erased_user_ids(channel: str, user_ids: Iterable[str]) -> set[str]:
    """The tombstone of an identity is its blind index (the id's ``external_index`` before erasure)."""
    by_index = {identity_index(channel, user_id): user_id for user_id in user_ids if user_id}
    if not by_index:
        return set()
    found = ErasedIdentity.objects.filter(identity_index__in=list(by_index)).values_list("identity_index", flat=True)
    return {by_index[index] for index in found}


def anonymise_stored(source: Source, messages: Sequence[Message]) -> int:
    """Blank the events just stored for erased ids (the timestamps let PostgreSQL prune partitions)."""
    if not messages:
        return 0
    return Event.objects.filter(
        source=source,
        timestamp__in={m.timestamp for m in messages},
        message_id__in=[m.message_id for m in messages],
    ).update(user_id="", anonymous_id="", traits={}, context={}, properties={}, customer=None)
