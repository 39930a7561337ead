"""The home dashboard's "my tasks" and "low stock" panels, registered by clienteling and inventory
from their read modules: the viewer's own open and overdue tasks; items sold out or running low."""

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
from rapport.inventory.queries import low_stock

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


def test_low_stock_lists_sold_out_and_below_reorder_quantity(client, make_staff, system_actor):
    warehouse = stock_services.default_location()
    levels = {"TEA-1": (0, 0), "TEA-2": (3, 10), "TEA-3": (50, 10), "TEA-4": (5, 0)}
    for sku, (on_hand, reorder) in levels.items():
        product = commerce.upsert_product(data={"sku": sku, "name": f"Tea {sku}", "price": "88"}, actor=system_actor)[0]
        stock_services.set_item(product, warehouse, data={"reorder_quantity": reorder}, actor=system_actor)
        if on_hand:
            stock_services.record_movement(
                product, warehouse, data={"kind": "receipt", "quantity": on_hand}, actor=system_actor
            )
    assert [i.product.sku for i in low_stock()] == ["TEA-1", "TEA-2"]
    client.force_login(make_staff(roles.ADMIN))
    page = client.get("/").content.decode()
    assert 'id="home-low_stock"' in page and 'id="low-stock-count">2<' in page and 'id="low-stock-sold-out">1<' in page
