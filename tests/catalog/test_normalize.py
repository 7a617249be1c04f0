import pytest

from catalog.normalize import normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Beyoncé", "beyonce"),
        ("Sigur Rós", "sigur ros"),
        ("Røyksopp", "royksopp"),
        ("Motörhead", "motorhead"),
        ("Straße", "strasse"),
        ("Don't Stop Me Now", "dont stop me now"),
        ("Don’t", "dont"),
        ("AC/DC", "ac dc"),
        ("  Halo  (Live)  ", "halo live"),
        ("東京", "東京"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_folds_case_accents_and_punctuation(text, expected):
    assert normalize(text) == expected
