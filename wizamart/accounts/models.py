"""Sessions that name their user, so one query loads a request's session and user together."""
from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class UserSession(AbstractBaseSession):
    """Django's session row plus the id of the user logged in with it (kept in step by the store).

    The session data stays the truth about who is logged in (Django's checks read it); the column only
    lets the store read the user's row in the same query as the session's.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_user_session"

    @classmethod
    def get_session_store_class(cls):
        from .auth import SessionStore

        return SessionStore
