"""Loyalty opening balances through the import engine: ledgers that add up, no level events, idempotent."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from rapport.core.actor import Actor
from rapport.customers import services as customer_services
from rapport.customers.models import Identity
from rapport.imports import services
from rapport.loyalty.models import Account, Entry, Level, LevelChange, Lot, Membership
from rapport.loyalty.services.checks import check_ledgers
from rapport.loyalty.services.levels import review_all

pytestmark = pytest.mark.django_db

TESTDATA = Path(__file__).resolve().parent.parent / "src" / "rapport" / "imports" / "testdata"
ACTOR = Actor.system("test")


@pytest.fixture
def members(db):
    people = {}
    for n in range(1, 6):
        customer, _ = customer_services.upsert_customer(
            channel="import", external_id=f"m{n}", data={"name": f"Member {n}"}, actor=ACTOR
        )
        people[f"m{n}"] = customer
    Level.objects.create(name="银卡", rank=1, threshold=Decimal("1000"), keep_threshold=Decimal("500"))
    Level.objects.create(name="金卡", rank=2, threshold=Decimal("5000"), keep_threshold=Decimal("3000"))
    return people


def run(tmp_path, name="loyalty_opening.csv"):
    return services.import_file(TESTDATA / name, kind="loyalty", actor=ACTOR, report_path=tmp_path / "report.csv")


def balances(customer):
    return {a.asset: a.balance for a in Account.objects.filter(customer=customer)}


def test_opening_balances_become_one_entry_per_account_and_the_ledgers_add_up(tmp_path, members):
    result = run(tmp_path)
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    errors = {(e.line, e.field, e.code) for e in result.first_errors}
    assert errors == {
        (5, "points", "negative"),
        (5, "points_expires_at", "expired"),
        (5, "principal", "invalid"),
        (5, "level", "not_found"),
        (6, "customer_external_id", "not_found"),
        (7, "customer_external_id", "duplicate_key"),
        (8, "card_number", "duplicate_key"),
    }
    m1, m2, m3 = members["m1"], members["m2"], members["m3"]
    assert balances(m1) == {"points": Decimal("1200"), "principal": Decimal("500.00"), "bonus": Decimal("50.00")}
    assert balances(m2) == {"points": Decimal("300")}
    assert balances(m3) == {"principal": Decimal("88.80")}
    assert not Account.objects.filter(customer=members["m4"]).exists()
    # points keep the old system's expiry (end of the day, shop time); a blank expiry never expires
    lot = Lot.objects.get(account__customer=m1, account__asset="points")
    assert (lot.expires_at.year, lot.remaining) == (2030, Decimal("1200"))
    assert Lot.objects.get(account__customer=m2, account__asset="points").expires_at is None
    assert set(Entry.objects.values_list("kind", flat=True)) == {"opening"}
    assert Entry.objects.count() == 5
    # the level from the file, with its valid-until, and no level change (no "upgrade" message)
    gold = Membership.objects.get(customer=m1)
    assert (gold.level.name, gold.level_valid_until.year) == ("金卡", 2030)
    assert Membership.objects.get(customer=m3).level.name == "银卡"
    assert not LevelChange.objects.exists()
    # card numbers are identities the counter looks members up by
    assert set(Identity.objects.filter(channel="member_card").values_list("external_id", "customer_id")) == {
        ("C0001", m1.pk),
        ("C0002", m2.pk),
    }
    assert check_ledgers() == []


def test_the_same_file_twice_changes_nothing(tmp_path, members):
    run(tmp_path)
    again = run(tmp_path)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 4)
    assert Entry.objects.count() == 5 and Identity.objects.filter(channel="member_card").count() == 2
    assert check_ledgers() == []


def test_a_different_opening_for_an_account_that_has_one_is_refused(tmp_path, members):
    run(tmp_path)
    changed = tmp_path / "changed.csv"
    changed.write_text("会员编号,积分\nm1,1300\nm2,300\n", encoding="utf-8")
    result = services.import_file(changed, kind="loyalty", actor=ACTOR)
    assert (result.created, result.unchanged, result.rejected) == (0, 1, 1)
    assert (result.first_errors[0].line, result.first_errors[0].field) == (2, "points")
    assert result.first_errors[0].code == "opening_exists"
    assert balances(members["m1"])["points"] == Decimal("1200")


def test_an_opening_adds_to_what_a_member_already_holds(tmp_path, members):
    from rapport.loyalty.services.points import award

    award(members["m2"], points=40, key="earned-before", actor=ACTOR)
    run(tmp_path)
    account = Account.objects.get(customer=members["m2"], asset="points")
    assert account.balance == Decimal("340")
    assert list(account.entries.order_by("id").values_list("balance_after", flat=True)) == [40, 340]
    assert check_ledgers() == []


def test_the_review_keeps_an_imported_level_until_its_valid_until(tmp_path, members):
    run(tmp_path)
    review_all(actor=ACTOR)  # no growth at all: only the valid-until keeps gold
    assert Membership.objects.get(customer=members["m1"]).level.name == "金卡"
    assert Membership.objects.get(customer=members["m3"]).level is None


def test_the_command_line_and_a_live_mode_refusal(tmp_path, members, capsys):
    call_command("import", "loyalty", str(TESTDATA / "loyalty_opening.csv"), "--no-progress")
    assert "3 loyalty created" in capsys.readouterr().out
    call_command("check_ledgers")
    assert "adds up" in capsys.readouterr().out
    with pytest.raises(services.UnusableFile, match="history only"):
        services.import_file(TESTDATA / "loyalty_opening.csv", kind="loyalty", actor=ACTOR, mode="live")


def post(client, capture, name="loyalty_opening.csv", **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"kind": "loyalty", "channel": "import"}
    data.update(fields)
    data.setdefault("file", SimpleUploadedFile(name, (TESTDATA / "loyalty_opening.csv").read_bytes()))
    with capture(execute=True):
        return client.post("/api/v1/imports", data)


def test_the_api_imports_opening_balances_and_names_bad_input(
    admin_api, members, settings, tmp_path, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from rapport.imports.models import ImportJob

    settings.RAPPORT_DATA_DIR = str(tmp_path / "data")
    response = post(admin_api, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    status = admin_api.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert (status["kind"], status["status"], status["created"], status["error_rows"]) == ("loyalty", "succeeded", 3, 4)
    errors = admin_api.get(f"/api/v1/imports/{response.json()['id']}/errors").json()["items"]
    assert (5, "points_expires_at", "expired") in {(e["line"], e["field"], e["code"]) for e in errors}
    assert check_ledgers() == []
    for fields, name in (
        ({"mode": "live"}, "mode"),
        ({"preset": "ebay"}, "preset"),
        ({"preset": "shopify"}, "preset"),  # Shopify exports no loyalty balances
        ({"file": SimpleUploadedFile("balances.jsonl", b"{}\n")}, "file"),
        ({"kind": "points"}, "kind"),
    ):
        refused = post(admin_api, django_capture_on_commit_callbacks, **fields)
        assert refused.status_code == 422, (fields, refused.content)
        assert name in {e["field"] for e in refused.json()["errors"]}
    assert ImportJob.objects.count() == 1


def test_the_api_needs_the_loyalty_write_scope(api_client_for, admin_user, members, django_capture_on_commit_callbacks):
    token = api_client_for(admin_user, scopes=["imports", "customers:write", "loyalty:read"])
    assert post(token, django_capture_on_commit_callbacks).status_code == 403
    assert not Account.objects.exists()


# Benefit cards and unused coupons -------------------------------------------------------------


@pytest.fixture
def programme(members):
    from rapport.loyalty.models import CardType, CouponTemplate

    plus = CardType.objects.create(name="PLUS会员", validity_days=365, price=Decimal("99"))
    coupon = CouponTemplate.objects.create(name="满100减20", amount_off=Decimal("20"), threshold=Decimal("100"))
    return plus, coupon


def test_benefit_cards_and_coupons_open_once_with_their_codes_and_the_ledgers_add_up(tmp_path, programme, members):
    from rapport.loyalty.models import BenefitCard, CardPeriod, Coupon, CouponEvent

    plus, template = programme
    result = run(tmp_path, "loyalty_cards_coupons.csv")
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert {(e.line, e.field, e.code) for e in result.first_errors} == {
        (4, "benefit_card", "not_found"),
        (5, "coupon_codes", "duplicate_key"),
        (6, "coupon_template", "not_found"),
    }
    m1, m2 = members["m1"], members["m2"]
    card = BenefitCard.objects.get(customer=m1)
    assert (card.card_type, card.ends_at.year, card.ends_at.month, card.amount_paid) == (plus, 2030, 12, 0)
    assert BenefitCard.objects.get(customer=m2).ends_at > card.starts_at  # the type's 365 days from the import
    assert CardPeriod.objects.count() == 2
    assert set(Coupon.objects.values_list("code", "customer_id", "status")) == {
        ("CODE-A", m1.pk, "issued"),
        ("CODE-B", m1.pk, "issued"),
        ("CODE-C", m2.pk, "issued"),
    }
    assert Coupon.objects.get(code="CODE-A").valid_until.year == 2030
    assert set(CouponEvent.objects.values_list("idempotency_key", "kind")) == {
        ("opening:coupon:CODE-A", "issue"),
        ("opening:coupon:CODE-B", "issue"),
        ("opening:coupon:CODE-C", "issue"),
    }
    template.refresh_from_db()
    assert template.issued_count == 3
    assert balances(m1) == {"points": Decimal("100")}
    assert check_ledgers() == []

    again = run(tmp_path, "loyalty_cards_coupons.csv")
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 3)
    template.refresh_from_db()
    assert (CardPeriod.objects.count(), Coupon.objects.count(), template.issued_count) == (2, 3, 3)
    assert Entry.objects.count() == 1
    assert check_ledgers() == []


def test_a_card_or_code_rapport_already_has_and_a_coupon_out_of_stock_are_refused(tmp_path, programme, members):
    from rapport.loyalty.models import BenefitCard, Coupon, CouponTemplate
    from rapport.loyalty.services import cards, coupons

    plus, template = programme
    run(tmp_path, "loyalty_cards_coupons.csv")
    cards.grant(plus, members["m4"], key="bought", actor=ACTOR)
    coupons.generate_codes(template, count=1, actor=ACTOR)
    printed = Coupon.objects.get(status="available").code
    scarce = CouponTemplate.objects.create(name="限量券", amount_off=Decimal("5"), total_stock=1)
    later = tmp_path / "later.csv"
    later.write_text(
        "会员编号,权益卡,权益卡到期时间,优惠券,券码\n"
        "m1,PLUS会员,2031-01-31,,\n"  # the card opened before, now with another end
        "m4,PLUS会员,,,\n"  # bought in Rapport already
        f"m5,,,满100减20,{printed}\n"  # a printed code of Rapport's own
        "m3,,,限量券,S-1 S-2\n",  # two codes, stock of one
        encoding="utf-8",
    )
    result = services.import_file(later, kind="loyalty", actor=ACTOR)
    assert {(e.line, e.field, e.code) for e in result.first_errors} == {
        (2, "benefit_card_ends_at", "opening_exists"),
        (3, "benefit_card", "card_held"),
        (4, "coupon_codes", "taken"),
        (5, "coupon_codes", "out_of_stock"),
    }
    assert result.created == 0
    assert BenefitCard.objects.get(customer=members["m1"]).ends_at.year == 2030
    assert not Coupon.objects.filter(template=scarce).exists()
    assert check_ledgers() == []
