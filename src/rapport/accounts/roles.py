"""Roles are Django groups with a fixed set of permissions; data scopes follow from the role.

Admin, operator/marketer, service agent and analyst see every customer; sales staff see the
customers they own; store staff see their store's customers.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ADMIN = "admin"
OPERATOR = "operator"
SERVICE_AGENT = "service_agent"
SALES = "sales"
STORE_STAFF = "store_staff"
ANALYST = "analyst"

ROLE_LABELS = {
    ADMIN: _("Administrator"),
    OPERATOR: _("Operator / marketer"),
    SERVICE_AGENT: _("Service agent"),
    SALES: _("Sales staff"),
    STORE_STAFF: _("Store staff"),
    ANALYST: _("Analyst"),
}

_VIEW_CUSTOMERS = [
    "customers.view_customer",
    "customers.view_store",
    "customers.view_customfielddefinition",
    "commerce.view_order",
    "commerce.view_product",
    "commerce.view_category",
    "commerce.view_refund",
    "events.view_event",
    "inventory.view_stockitem",
    "recommendations.view_recommendation",
]
# Keep stock: replenishment settings, goods received, adjustments and counts.
_STOCK = ["inventory.change_stockitem", "inventory.add_stockmovement"]
# Build, save and export segments (exports stay masked without customers.reveal_pii).
_SEGMENTS = [
    "segments.view_segment",
    "segments.add_segment",
    "segments.change_segment",
    "segments.delete_segment",
    "segments.export_segment",
]
_EDIT_CUSTOMERS = [
    "customers.add_customer",
    "customers.change_customer",
    "customers.add_note",
]
_VIEW_TAGS = ["tags.view_tag", "tags.view_tagcategory", "tags.view_taghistory", "tags.view_tagtemplate"]
_TAG_CUSTOMERS = [*_VIEW_TAGS, "tags.tag_customer"]
_MANAGE_TAGS = [
    *_TAG_CUSTOMERS,
    "tags.add_tag",
    "tags.change_tag",
    "tags.delete_tag",
    "tags.add_tagcategory",
    "tags.change_tagcategory",
    "tags.delete_tagcategory",
    "tags.add_tagtemplate",
    "tags.batch_tag",
    "tags.view_tagbatch",
    "tags.evaluate_tag",
    "tags.view_syncendpoint",
    "tags.add_syncendpoint",
    "tags.change_syncendpoint",
    "tags.view_syncdelivery",
    "tags.retry_delivery",
]

# Customer service: work tickets, the knowledge base and canned replies, service reports.
_SERVICE = [
    "service.view_ticket",
    "service.add_ticket",
    "service.work_ticket",
    "service.merge_ticket",
    "service.give_goodwill",
    "service.view_service_reports",
    "service.view_article",
    "service.add_article",
    "service.change_article",
    "service.delete_article",
    "service.view_articlecategory",
    "service.add_articlecategory",
    "service.change_articlecategory",
    "service.view_cannedreply",
    "service.add_cannedreply",
    "service.change_cannedreply",
]

# Campaigns: operation plans, content templates, channel settings and reports.
_VIEW_CAMPAIGNS = ["campaigns.view_plan", "campaigns.view_contenttemplate", "campaigns.view_channelpolicy"]
_CAMPAIGNS = [
    *_VIEW_CAMPAIGNS,
    "campaigns.add_plan",
    "campaigns.change_plan",
    "campaigns.delete_plan",
    "campaigns.launch_plan",
    "campaigns.add_contenttemplate",
    "campaigns.change_contenttemplate",
    "campaigns.delete_contenttemplate",
    "campaigns.change_channelpolicy",
]

# Analytics: the 360 metrics tab for everyone who works with customers; dashboards, the report
# builder, model fits and starting the metrics run for operators and analysts.
_VIEW_METRICS = ["analytics.view_customermetrics"]
_ANALYTICS = [
    *_VIEW_METRICS,
    "analytics.view_dashboard",
    "analytics.change_customermetrics",
    "analytics.view_modelfit",
    "analytics.view_savedreport",
    "analytics.add_savedreport",
    "analytics.change_savedreport",
    "analytics.delete_savedreport",
]

# Loyalty: members' assets on the 360 page for everyone who works with customers; adjustments,
# coupons, checkout write-offs and programme settings by role.
_VIEW_ASSETS = ["loyalty.view_account", "loyalty.view_coupon"]
_LOYALTY = [
    *_VIEW_ASSETS,
    "loyalty.adjust_balance",
    "loyalty.issue_coupon",
    "loyalty.redeem_coupon",
    "loyalty.give_goodwill",
    "loyalty.change_programsettings",
]

# Promotions (促销): operators set them up; analysts read them and their reports.
_VIEW_PROMOTIONS = ["promotions.view_promotion"]
_PROMOTIONS = [*_VIEW_PROMOTIONS, "promotions.add_promotion", "promotions.change_promotion"]

# Tasks (任务管理): everyone who meets customers works their own and their store's, records contacts
# and shares links; operators
# also create them in bulk for a segment and read completion by person and store. The counter
# (门店收银台) for store staff and operators.
_TASKS = [
    "clienteling.view_task",
    "clienteling.add_task",
    "clienteling.change_task",
    "clienteling.view_contact",
    "clienteling.add_contact",
    "clienteling.view_sharedlink",
    "clienteling.add_sharedlink",
]
_MANAGE_TASKS = [*_TASKS, "clienteling.manage_tasks"]
# Sales opportunities (销售机会): for those who sell; each sees the opportunities of the customers
# in their data scope.
_OPPORTUNITIES = [
    "opportunities.view_opportunity",
    "opportunities.add_opportunity",
    "opportunities.change_opportunity",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    ADMIN: ["*"],
    OPERATOR: [
        *_VIEW_CUSTOMERS,
        *_EDIT_CUSTOMERS,
        "customers.assign_owner",
        "customers.export_customer",
        "commerce.add_order",
        "commerce.change_order",
        "commerce.add_product",
        "commerce.change_product",
        "commerce.add_category",
        "commerce.change_category",
        "commerce.add_refund",
        *_STOCK,
        "imports.add_importjob",
        "imports.view_importjob",
        "core.view_backgroundjob",
        "core.change_backgroundjob",
        "events.view_source",
        "events.add_source",
        "events.change_source",
        "customers.view_mergesuggestion",
        "customers.change_mergesuggestion",
        *_MANAGE_TAGS,
        *_SEGMENTS,
        *_CAMPAIGNS,
        *_ANALYTICS,
        *_LOYALTY,
        *_PROMOTIONS,
        *_MANAGE_TASKS,
        *_OPPORTUNITIES,
        "counter.use_counter",
    ],
    SERVICE_AGENT: [
        *_VIEW_CUSTOMERS,
        *_EDIT_CUSTOMERS,
        "customers.reveal_pii",
        "commerce.add_refund",
        "customers.view_mergesuggestion",
        "customers.change_mergesuggestion",
        *_TAG_CUSTOMERS,
        *_SERVICE,
        *_VIEW_METRICS,
        *_VIEW_ASSETS,
        "loyalty.adjust_balance",
        "loyalty.issue_coupon",
        "loyalty.give_goodwill",
        *_TASKS,
    ],
    SALES: [
        *_VIEW_CUSTOMERS,
        *_EDIT_CUSTOMERS,
        "customers.reveal_pii",
        *_TAG_CUSTOMERS,
        *_VIEW_METRICS,
        *_VIEW_ASSETS,
        *_TASKS,
        *_OPPORTUNITIES,
    ],
    STORE_STAFF: [
        *_VIEW_CUSTOMERS,
        *_EDIT_CUSTOMERS,
        "customers.reveal_pii",
        *_TAG_CUSTOMERS,
        *_VIEW_METRICS,
        *_VIEW_ASSETS,
        "loyalty.redeem_coupon",
        "loyalty.give_goodwill",
        "counter.use_counter",
        *_TASKS,
        *_OPPORTUNITIES,
    ],
    ANALYST: [
        *_VIEW_CUSTOMERS,
        "audit.view_auditentry",
        "events.view_source",
        *_VIEW_TAGS,
        *_SEGMENTS,
        *_VIEW_CAMPAIGNS,
        "service.view_ticket",
        "service.view_service_reports",
        *_ANALYTICS,
        *_VIEW_ASSETS,
        *_VIEW_PROMOTIONS,
    ],
}

# Roles whose data scope is every customer.
UNSCOPED_ROLES = {ADMIN, OPERATOR, SERVICE_AGENT, ANALYST}
