"""The member portal's back-in-stock page (到货提醒): the products the member is waiting for, and
asking for one by SKU (the shop's product page links here with ``?sku=``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from rapport.commerce.queries import product_by_sku
from rapport.core.errors import InvalidInput
from rapport.inventory import queries, services
from rapport.inventory.models import StockSubscription
from rapport.portal.auth import member_required


@member_required
def back_in_stock(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    errors: list[str] = []
    sku = (request.POST.get("sku") if request.method == "POST" else request.GET.get("sku")) or ""
    if request.method == "POST":
        product = product_by_sku(sku.strip())
        if product is None:
            errors.append(_("No product with this SKU."))
        else:
            try:
                services.subscribe_back_in_stock(member.pk, product, source=StockSubscription.Source.PORTAL)
            except InvalidInput:
                errors.append(_("This product is in stock: you can order it now."))
            else:
                messages.success(
                    request, _("We will let you know when %(product)s is back.") % {"product": product.name}
                )
                return redirect("inventory:portal_back_in_stock")
    context = {
        "portal_section": "back_in_stock",
        "waiting": queries.waiting_subscriptions(member.pk),
        "sku": sku,
        "errors": errors,
    }
    return render(request, "inventory/portal/back_in_stock.html", context, status=422 if errors else 200)
