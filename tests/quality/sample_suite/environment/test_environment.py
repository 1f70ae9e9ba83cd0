"""What a test of a run sees of its environment: the allowlist and the run's own variables, nothing else."""
import os

RUN_OWN = {
    "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "SECRET_KEY", "USE_CELERY", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH",
    "WIZAMART_TEST_RUN_PROGRESS", "WIZAMART_TEST_RUN_LIVE_DATABASES", "REDIS_URL",
}
ALLOWLIST = {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "CHROMIUM_PATH"}
SET_BY_PYTEST = {"PYTEST_CURRENT_TEST", "PYTEST_VERSION"}


def test_only_allowlisted_variables_reach_the_tests():
    unexpected = set(os.environ) - RUN_OWN - ALLOWLIST - SET_BY_PYTEST
    assert not unexpected, sorted(unexpected)


def test_the_secret_key_is_a_throwaway_one():
    # The test of this sample sets the job's own SECRET_KEY to "the-web-process-secret-key-…".
    assert not os.environ["SECRET_KEY"].startswith("the-web-process-secret-key-")
    assert len(os.environ["SECRET_KEY"]) >= 50
