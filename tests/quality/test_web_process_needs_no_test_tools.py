"""The web process and the workers load every app without the test tools: pytest is only the test run's child."""
import subprocess
import sys

from django.conf import settings

LOAD_EVERYTHING = """
import sys, django
django.setup()
from django.contrib import admin
from django.urls import get_resolver
admin.autodiscover()
get_resolver().url_patterns
loaded = sorted(name for name in sys.modules if name.split('.')[0] in ('pytest', '_pytest', 'pytest_django'))
print(','.join(loaded))
"""


def test_loading_the_project_imports_no_pytest(tmp_path):
    env = {"DJANGO_SETTINGS_MODULE": "wizamart.settings", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", LOAD_EVERYTHING], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
