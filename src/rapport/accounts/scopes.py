"""API token scopes and what each one allows."""

from __future__ import annotations

CUSTOMERS_READ = "customers:read"
CUSTOMERS_WRITE = "customers:write"
PII_REVEAL = "pii:reveal"
COMMERCE_READ = "commerce:read"
COMMERCE_WRITE = "commerce:write"
AUDIT_READ = "audit:read"
SEGMENTS_READ = "segments:read"
SEGMENTS_WRITE = "segments:write"
TAGS_READ = "tags:read"
TAGS_WRITE = "tags:write"
CAMPAIGNS_READ = "campaigns:read"
CAMPAIGNS_WRITE = "campaigns:write"
SERVICE_READ = "service:read"
SERVICE_WRITE = "service:write"
ANALYTICS_READ = "analytics:read"
ANALYTICS_WRITE = "analytics:write"
LOYALTY_READ = "loyalty:read"
LOYALTY_WRITE = "loyalty:write"
CHECKOUT = "checkout"
PRIVACY = "privacy:requests"
IMPORTS = "imports"
MEMBER_CODES = "member-codes"
TASKS_READ = "tasks:read"
TASKS_WRITE = "tasks:write"
CONTACTS_READ = "contacts:read"
CONTACTS_WRITE = "contacts:write"
OPPORTUNITIES_READ = "opportunities:read"
OPPORTUNITIES_WRITE = "opportunities:write"
JOBS = "jobs"
INVENTORY_READ = "inventory:read"
INVENTORY_WRITE = "inventory:write"
RECOMMENDATIONS_READ = "recommendations:read"
PROMOTIONS_READ = "promotions:read"
PROMOTIONS_WRITE = "promotions:write"

ALL_SCOPES = {
    CUSTOMERS_READ: "Read customers, stores and custom field definitions",
    CUSTOMERS_WRITE: "Create and change customers, stores, notes and custom fields",
    PII_REVEAL: "Read personal data in plaintext (every reveal is audited)",
    COMMERCE_READ: "Read products, categories, orders and refunds",
    COMMERCE_WRITE: "Create and change products, categories, orders and refunds",
    AUDIT_READ: "Read the audit log",
    SEGMENTS_READ: "Read segments, count and preview rules, portraits, snapshots and exports (masked)",
    SEGMENTS_WRITE: "Save, change and delete segments and take snapshots",
    TAGS_READ: "Read tag categories, tags, customers' tags and tag history",
    TAGS_WRITE: "Tag customers (one, in batches), manage tags, templates and tag sync",
    CAMPAIGNS_READ: "Read operation plans, reports, content templates, channel settings",
    CAMPAIGNS_WRITE: "Create, launch, pause and cancel plans; write templates; change channels",
    SERVICE_READ: "Read tickets, their messages and history, knowledge-base articles and service reports",
    SERVICE_WRITE: "Open, reply to, note, assign, merge and change tickets; write knowledge-base articles",
    ANALYTICS_READ: "Read customer metrics, KPIs, model fits and saved reports; run and export reports",
    ANALYTICS_WRITE: "Save and delete reports; start the customer metrics run",
    LOYALTY_READ: "Read members' points, stored value, coupons, levels, cards and the loyalty settings",
    LOYALTY_WRITE: "Adjust balances, top up and refund stored value, issue coupons and cards, manage loyalty settings",
    CHECKOUT: "Quote, redeem and reverse points, coupons and stored value at a shop's checkout",
    PRIVACY: "Receive, verify, reject and fulfil data-subject requests (copies of data and erasure)",
    IMPORTS: "Start, follow and cancel import jobs (a job also needs the scope of what it imports)",
    MEMBER_CODES: "Accept a member's code or card number at a till and get the member's masked card and visit token",
    TASKS_READ: "Read tasks on customers and completion per person and store",
    TASKS_WRITE: "Create and complete tasks on customers (one, or in bulk for a segment)",
    CONTACTS_READ: "Read the calls, messages, visits and appointments staff recorded on customers",
    CONTACTS_WRITE: "Record a call, message, visit or appointment on a customer",
    OPPORTUNITIES_READ: "Read sales opportunities, their activities and the forecast by stage, owner and month",
    OPPORTUNITIES_WRITE: "Create and change sales opportunities, move them through stages, record activities",
    JOBS: "Follow long background jobs; retry a failed or stalled one, cancel an open one",
    INVENTORY_READ: "Read stock levels, locations and stock movements",
    INVENTORY_WRITE: "Set how products are stocked and record goods received, adjustments and counts",
    RECOMMENDATIONS_READ: "Read product recommendations for customers and related products",
    PROMOTIONS_READ: "Read promotions and their performance; preview what they do to a cart",
    PROMOTIONS_WRITE: "Create and change promotions",
}
