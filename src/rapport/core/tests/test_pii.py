import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from rapport.core import pii


def test_chinese_mobile_is_normalised_to_e164_from_any_common_spelling():
    for raw in ["13812345678", "138 1234 5678", "+86 138-1234-5678", "0086 13812345678"]:
        assert pii.normalise_phone(raw) == "+8613812345678"


def test_foreign_numbers_keep_their_country():
    assert pii.normalise_phone("+1 415 555 2671") == "+14155552671"


@pytest.mark.parametrize("raw", ["", "123", "not a phone", "1381234567890123"])
def test_invalid_phone_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        pii.normalise_phone(raw)


def test_phone_region_is_configurable(settings):
    settings.RAPPORT_PHONE_REGION = "US"
    assert pii.normalise_phone("(415) 555-2671") == "+14155552671"


def test_encryption_round_trips_and_is_not_deterministic():
    first, second = pii.encrypt("+8613812345678"), pii.encrypt("+8613812345678")
    assert first != second
    assert "13812345678" not in first
    assert pii.decrypt(first) == pii.decrypt(second) == "+8613812345678"


def test_bulk_encryption_makes_fernet_tokens_each_with_its_own_iv(settings):
    from cryptography.fernet import Fernet

    values = ["+8613812345678", "", None, "上海市浦东新区世纪大道1号" * 3, "x" * 16, "+8613812345678"]
    tokens = pii.encrypt_many(values)
    assert tokens[1] == "" and tokens[2] is None
    primary = Fernet(settings.RAPPORT_ENCRYPTION_KEYS[0].encode())
    assert [primary.decrypt(t.encode()).decode() if t else t for t in tokens] == values
    assert tokens[0] != tokens[5]  # the same value twice: two different tokens
    assert pii.encrypt_many([]) == []


def test_rotated_keys_still_decrypt_old_values_and_rotate_reencrypts(settings):
    from cryptography.fernet import Fernet

    old_token = pii.encrypt("zhang@example.com")
    new_key = Fernet.generate_key().decode()
    settings.RAPPORT_ENCRYPTION_KEYS = [new_key, *settings.RAPPORT_ENCRYPTION_KEYS]
    assert pii.decrypt(old_token) == "zhang@example.com"
    rotated = pii.rotate(old_token)
    settings.RAPPORT_ENCRYPTION_KEYS = [new_key]
    assert pii.decrypt(rotated) == "zhang@example.com"


def test_decrypting_with_the_wrong_keys_fails_loudly(settings):
    from cryptography.fernet import Fernet

    token = pii.encrypt("secret")
    settings.RAPPORT_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(RuntimeError):
        pii.decrypt(token)


def test_blind_index_is_stable_keyed_and_separates_kinds(settings):
    phone = pii.phone_index("+8613812345678")
    assert phone == pii.phone_index("+8613812345678")
    assert phone != pii.blind_index(pii.EMAIL, "+8613812345678")
    settings.RAPPORT_BLIND_INDEX_KEY = "another key"
    assert pii.phone_index("+8613812345678") != phone


def test_email_index_ignores_case_so_duplicates_are_found():
    assert pii.email_index(pii.normalise_email("Zhang.Wei@Example.COM")) == pii.email_index("zhang.wei@example.com")


def test_search_helpers_return_none_for_text_that_is_not_a_phone_or_email():
    assert pii.search_index_for_phone("Zhang Wei") is None
    assert pii.search_index_for_email("Zhang Wei") is None
    assert pii.search_index_for_phone("138-1234-5678") == pii.phone_index("+8613812345678")


def test_masks_hide_the_middle_of_personal_data():
    assert pii.mask_phone("+8613812345678") == "138****5678"
    assert pii.mask_phone("+14155552671") == "+1 415****2671"
    assert pii.mask_email("zhang.wei@example.com") == "z***@example.com"
    assert pii.mask_id_number("110101199003071234") == "110****1234"
    assert pii.mask_phone("") == ""


# The fast path for mainland mobile numbers agrees with the full rule -------------------------


def _either(function, text):
    try:
        return function(text)
    except ValidationError:
        return "invalid"


@hypothesis_settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="0123456789", min_size=11, max_size=11).map(lambda t: "1" + t[1:]),
        st.text(alphabet="0123456789", min_size=9, max_size=13),
        st.text(alphabet="0123456789+- ()１３８", min_size=1, max_size=14),
    )
)
def test_fast_mobile_path_agrees_with_the_full_rule(text):
    full = _either(lambda t: pii._normalise_phone_fully(t.strip(), region="CN"), text)
    assert _either(lambda t: pii.normalise_phone(t, region="CN"), text) == full
