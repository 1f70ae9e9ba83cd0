"""AppSettings: defaults in one place, overrides read at access time, unknown names refused."""
import pytest

from background_tasks.conf import AppSettings


def test_prefixed_setting_falls_back_to_its_default_and_follows_overrides(settings):
    conf = AppSettings(prefix="DEMO_", defaults={"LIMIT": 10})
    assert conf.LIMIT == 10
    settings.DEMO_LIMIT = 3
    assert conf.LIMIT == 3


def test_container_setting_reads_one_dict(settings):
    conf = AppSettings(container="DEMO_BOX", defaults={"LIMIT": 10, "NAME": "x"})
    settings.DEMO_BOX = {"LIMIT": 4}
    assert (conf.LIMIT, conf.NAME) == (4, "x")


def test_unknown_setting_is_an_attribute_error():
    conf = AppSettings(prefix="DEMO_", defaults={"LIMIT": 10})
    with pytest.raises(AttributeError, match="DEMO_OTHER"):
        getattr(conf, "OTHER")  # noqa: B009
