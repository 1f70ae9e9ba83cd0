"""Settings of test runs, with their defaults (read at access time)."""
from background_tasks.conf import AppSettings

test_run_settings = AppSettings(
    prefix="QUALITY_TEST_RUN_",
    defaults={
        # Wall-clock limit of one run, in seconds: then the whole process group is killed.
        "TIMEOUT": 1800,
        # Seconds pytest gets to stop on its own (and drop its test database) before SIGKILL.
        "KILL_GRACE": 5.0,
        # Database server the tests create their test database on; empty: the project's own
        # server and credentials (pytest-django creates "test_<name>" there, never touching <name>).
        "DATABASE_URL": "",
        # Redis the tests' own Celery workers use (REDIS_URL of the tests; they flush it): a scratch
        # database, never the live broker. Empty: the tests' default (redis://127.0.0.1:6379/15).
        "REDIS_URL": "",
        # Variables of this process the pytest process may see; nothing else is passed on.
        "ENV_ALLOWLIST": ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "CHROMIUM_PATH"),
        # Seconds between two reads of the live progress file.
        "POLL_INTERVAL": 0.5,
        # The most paths or node ids one run may name.
        "MAX_PATHS": 50,
        # The commit when the code is not a git checkout (e.g. a container image built from one).
        "GIT_COMMIT": "",
    },
)
