from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor, Source


def test_entries_name_the_actor_source_and_object(make_staff, make_customer):
    user = make_staff("operator", username="li.ming")
    customer = make_customer(name="Target")
    entry = record(Actor(user=user, source=Source.API), AuditEntry.Action.UPDATE, obj=customer, changes={"a": 1})
    assert (entry.actor_label, entry.source, entry.object_type) == ("li.ming", "api", "customers.customer")
    assert entry.object_id == str(customer.pk) and entry.object_repr == "Target"


def test_jobs_are_logged_under_their_own_label(db):
    entry = record(Actor.system("nightly stats"), AuditEntry.Action.UPDATE, object_type="x", object_id=1)
    assert entry.actor is None and entry.actor_label == "nightly stats"
