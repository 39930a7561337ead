"""SMS length: GSM-7 160/153 with two-place extension characters, UCS-2 70/67 for Chinese and emoji."""

from __future__ import annotations

import pytest

from rapport.campaigns.delivery.sms import measure


@pytest.mark.parametrize(
    ("text", "encoding", "characters", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),
        ("{" * 81, "GSM-7", 162, 2),
        ("会" * 70, "UCS-2", 70, 1),
        ("会" * 71, "UCS-2", 71, 2),
        ("会" * 134, "UCS-2", 134, 2),
        ("会" * 135, "UCS-2", 135, 3),
        ("Hi 王芳", "UCS-2", 5, 1),
        ("a" * 69 + "😀", "UCS-2", 71, 2),
    ],
)
def test_sms_length_follows_the_network_rules(text, encoding, characters, segments):
    measured = measure(text)
    assert (measured.encoding, measured.characters, measured.segments) == (encoding, characters, segments)
