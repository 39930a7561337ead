"""The home dashboard's "my tasks" and "low stock" panels, registered by clienteling and inventory
from their read modules: the viewer's own open and overdue tasks; the open low-stock warnings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.clienteling import queries as task_queries
from rapport.clienteling import services as task_services
from rapport.commerce import services as commerce
from rapport.core.actor import Actor, Source
from rapport.inventory import services as stock_services
from rapport.inventory.models import LowStockAlert

pytestmark = pytest.mark.django_db


def _task(customer, title, due, actor):
    return task_services.create_task(customer, {"title": title, "kind": "call", "due_at": due.isoformat()}, actor=actor)


def test_my_tasks_are_mine_open_and_counted_overdue(client, make_staff, make_customer):
    seller, other = make_staff(roles.SALES, username="seller"), make_staff(roles.SALES, username="other")
    now = timezone.now()
    mine = Actor(user=seller, source=Source.CONSOLE)
    late = _task(make_customer(owner=seller.pk), "回访 overdue", now - dt.timedelta(days=1), mine)
    _task(make_customer(owner=seller.pk), "回访 tomorrow", now + dt.timedelta(days=1), mine)
    done = _task(make_customer(owner=seller.pk), "done already", now + dt.timedelta(days=2), mine)
    task_services.complete_task(done, outcome="reached", notes="", actor=mine)
    _task(make_customer(owner=other.pk), "not mine", now, Actor(user=other, source=Source.CONSOLE))

    assert task_queries.my_task_counts(seller, now=now) == {"open": 2, "overdue": 1}
    assert [t.title for t in task_queries.my_open_tasks(seller)] == ["回访 overdue", "回访 tomorrow"]
    client.force_login(seller)
    page = client.get("/").content.decode()
    assert 'id="home-my_tasks"' in page and 'id="my-tasks-open">2<' in page and 'id="my-tasks-overdue"' in page
    assert f'href="/counter/tasks/{late.pk}/"' in page and "not mine" not in page


def test_no_open_tasks_no_panel(client, make_staff):
    client.force_login(make_staff(roles.SALES))
    assert 'id="home-my_tasks"' not in client.get("/").content.decode()


def test_low_stock_panel_shows_the_open_warnings(client, make_staff, system_actor):
    """The panel reads the low-stock warnings (库存预警) that stock movements raise: open ones only."""
    warehouse = stock_services.default_location()
    for sku, closed in (("TEA-1", None), ("TEA-2", None), ("TEA-3", timezone.now())):
        product = commerce.upsert_product(data={"sku": sku, "name": f"Tea {sku}", "price": "88"}, actor=system_actor)[0]
        item = stock_services.set_item(product, warehouse, data={"reorder_quantity": 10}, actor=system_actor)
        LowStockAlert.objects.create(item=item, on_hand=1, reorder_point=4, opened_at=timezone.now(), closed_at=closed)
    client.force_login(make_staff(roles.ADMIN))
    page = client.get("/").content.decode()
    assert 'id="home-low_stock"' in page and 'id="low-stock-count">2<' in page
    assert "TEA-1" in page and "TEA-3" not in page
