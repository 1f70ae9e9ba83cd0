"""A module that cannot be imported: a collection error."""
import a_module_that_does_not_exist  # noqa: F401


def test_never_collected():
    pass
