"""The shared parsers: one spelling of yes/no, Spotify ids and ISRCs for every way in."""

import pytest

from core.parsing import is_spotify_id, is_spotify_uri, parse_bool, parse_isrc


@pytest.mark.parametrize("word", ["1", "true", "T", " yes ", "Y", "on", True])
def test_true_words(word):
    assert parse_bool(word) is True


@pytest.mark.parametrize("word", ["0", "false", "F", "no", "N", "OFF", False])
def test_false_words(word):
    assert parse_bool(word) is False


@pytest.mark.parametrize("word", [None, "", "   "])
def test_blank_is_unknown(word):
    assert parse_bool(word) is None


@pytest.mark.parametrize("word", ["maybe", "2", "truee"])
def test_other_words_are_refused(word):
    with pytest.raises(ValueError, match="is not true or false"):
        parse_bool(word)


def test_spotify_ids_are_22_base62_characters():
    assert is_spotify_id("4uLU6hMCjMI75M1A2tKUQC")
    assert not is_spotify_id("4uLU6hMCjMI75M1A2tKUQ")  # 21
    assert not is_spotify_id("4uLU6hMCjMI75M1A2tKUQC\n")
    assert not is_spotify_id("4uLU6hMCjMI75M1A2tKU-C")
    assert not is_spotify_id(None)


def test_spotify_uris_name_their_kind():
    assert is_spotify_uri("spotify:track:4uLU6hMCjMI75M1A2tKUQC", kind="track")
    assert not is_spotify_uri("spotify:album:4uLU6hMCjMI75M1A2tKUQC", kind="track")
    assert not is_spotify_uri("spotify:track:short", kind="track")


def test_isrc_is_stored_upper_case_without_hyphens():
    assert parse_isrc(" gb-ajy-04-00001 ") == "GBAJY0400001"
    with pytest.raises(ValueError, match="not a valid ISRC"):
        parse_isrc("GBAJY04000")
