"""The one delivery path: one-off messages are held to the same guards as campaign messages."""

from __future__ import annotations

import pytest

from rapport.campaigns.delivery import send_transactional
from rapport.campaigns.models import Message
from rapport.customers.consent import set_consent

pytestmark = pytest.mark.django_db


def test_marketing_sent_one_off_counts_against_the_frequency_cap_like_a_campaign(make_member):
    customer = make_member(consent=("sms",))
    results = [
        send_transactional(customer, channel="sms", purpose="marketing", subject="", body=f"Sale {n}") for n in range(3)
    ]
    assert [r.delivered for r in results] == [True, True, False]
    assert "frequency cap" in results[2].detail
    refused = Message.objects.get(pk=results[2].message_id)
    assert refused.status == Message.Status.SUPPRESSED and refused.reason == Message.Reason.FREQUENCY_CAP


def test_service_messages_are_not_capped_and_need_no_marketing_consent(make_member):
    customer = make_member(consent=())
    results = [
        send_transactional(customer, channel="sms", purpose="service", subject="", body=f"Code {n}") for n in range(4)
    ]
    assert all(r.delivered for r in results)


def test_a_refused_one_off_is_recorded_with_its_reason(make_member, system_actor):
    customer = make_member(consent=("email",))
    set_consent(customer, channel="email", purpose="marketing", granted=False, actor=system_actor)
    result = send_transactional(customer, channel="email", purpose="marketing", subject="New", body="Spring sale")
    assert not result.delivered and "not agreed" in result.detail
    assert Message.objects.get(pk=result.message_id).reason == Message.Reason.NO_CONSENT


def test_without_a_transport_a_message_that_cannot_be_kept_fails(make_member, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.RAPPORT_OUTBOX_DIR = blocker / "outbox"
    result = send_transactional(make_member(), channel="sms", purpose="service", subject="", body="Code 1")
    assert not result.delivered and result.detail.startswith("outbox:")
    assert Message.objects.get(pk=result.message_id).status == Message.Status.FAILED
