"""Tests that pass (and one skipped, one expected failure)."""
import pytest


def test_adds():
    assert 1 + 1 == 2


@pytest.mark.parametrize("word", ["alpha", "beta"])
def test_words_are_lowercase(word):
    assert word == word.lower()


@pytest.mark.skip(reason="shows a skip")
def test_skipped():
    raise AssertionError("never runs")


@pytest.mark.xfail(reason="shows an expected failure", strict=True)
def test_expected_failure():
    assert 1 == 2
