"""Django's PostgreSQL backend, whose health check asks the socket before it asks the server.

With ``CONN_HEALTH_CHECKS`` Django runs ``SELECT 1`` at the start of every request that reuses a
connection: one more round trip for each status poll, which is most of the traffic. A connection the
server has closed (a restart, ``pg_terminate_backend``, an idle timeout) announces it on its socket:
PostgreSQL sends its error and closes, and the socket becomes readable. So when the connection is
open and its socket has nothing to read, it is kept without a query; when something is waiting
there, Django's own ``SELECT 1`` decides, as before. An idle connection has nothing to say
otherwise: this project does not LISTEN.

Used by ``wizamart.settings`` for every ``postgres://`` DATABASE_URL (``ENGINE`` is
``wizamart.postgresql``); everything else is Django's backend unchanged.
"""
from __future__ import annotations

import select

from django.db.backends.postgresql.base import DatabaseWrapper as DjangoDatabaseWrapper
from psycopg import pq


class DatabaseWrapper(DjangoDatabaseWrapper):
    def close_if_health_check_failed(self):
        if (
            not self.pool
            and self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and self._socket_is_quiet()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _socket_is_quiet(self) -> bool:
        """True when the open connection's socket has nothing to read (the server said nothing)."""
        try:
            pgconn = self.connection.pgconn
            if self.connection.closed or pgconn.status != pq.ConnStatus.OK:
                return False
            readable, _, _ = select.select([pgconn.socket], [], [], 0)
        except (OSError, ValueError, AttributeError):
            return False
        return not readable
