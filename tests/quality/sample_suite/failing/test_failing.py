"""Tests that fail in different ways, beside tests that pass."""
import pytest


def test_passes():
    assert "a" in "abc"


def test_assertion_fails():
    expected = 3
    assert 1 + 1 == expected


def test_raises():
    raise ValueError("the price must not be negative")


@pytest.fixture
def broken_fixture():
    raise RuntimeError("the fixture cannot connect")


def test_setup_errors(broken_fixture):
    assert broken_fixture


def test_also_passes():
    assert [1, 2] == [1, 2]
