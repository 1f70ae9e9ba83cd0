"""Shared fixtures: users and API clients, and how jobs run in tests."""
import pytest
from rest_framework.test import APIClient

from .factories import LimitedStaffFactory, StaffFactory, UserFactory

pytest_plugins = ["tests.fixtures.celery_worker", "tests.fixtures.browser", "tests.fixtures.s3"]


@pytest.fixture(autouse=True)
def _in_process_tasks(settings, tmp_path):
    """By default jobs run in-process, in the committing thread (deterministic tests)."""
    settings.USE_CELERY = False
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "EAGER": True}
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def staff_user(db):
    return StaffFactory()


# What a back-office clerk needs for the job pages and the API: no superuser status.
CLERK_PERMISSIONS = [
    *(
        f"{action}_{model}"
        for model in ("marketplaceimportjob", "productexportjob", "subscriptionmaintenancerun", "demojob")
        for action in ("view", "add", "change")
    ),
    "view_unifiedtask",
    "view_adminnotification",
    "change_adminnotification",
    "view_vendor",
]


@pytest.fixture
def clerk_user(db):
    """A staff user who is not a superuser, with only CLERK_PERMISSIONS."""
    return LimitedStaffFactory(permissions=CLERK_PERMISSIONS)


@pytest.fixture
def clerk_client(clerk_user):
    client = APIClient()
    client.force_login(clerk_user)
    return client


@pytest.fixture
def plain_user(db):
    return UserFactory()


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def staff_client(staff_user):
    client = APIClient()
    client.force_login(staff_user)
    return client


@pytest.fixture
def user_client(plain_user):
    client = APIClient()
    client.force_login(plain_user)
    return client


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (dispatch) inside a test transaction, as a real commit would."""

    def runner(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return runner
