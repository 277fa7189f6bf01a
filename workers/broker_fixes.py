"""A worker that outlives its broker: a guard around a kombu Redis transport bug.

When the connection to Redis drops while the worker holds unacknowledged messages (a task
running with late acknowledgement, or one prefetched), Celery closes the connection and kombu
restores those messages. By then the channel's connection has lost its client, and building a
Redis client for the restore raises ``AttributeError: 'NoneType' object has no attribute
'hostname'`` (kombu/transport/redis.py, ``Channel._connparams``). That is not one of the
connection errors Celery ignores while closing, so the worker stops with "Unrecoverable error"
(kombu issue 582 shows the same failure when closing a channel; seen here on kombu 5.7.0 when a
test stopped Redis).

The restore is not needed for safety here: the outbox rows in the database are the work, and
the waker and the sweeper ring for every due row again. So a restore that cannot even build its
client gives up with a warning, the worker keeps running and reconnects, and Redis' own
visibility timeout would restore the messages later anyway.
"""

from __future__ import annotations

import functools
import logging

from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)

_installed = False


def install() -> None:
    """Wrap ``QoS.restore_unacked`` of kombu's Redis transport (once)."""
    global _installed
    if _installed:
        return
    original = kombu_redis.QoS.restore_unacked

    @functools.wraps(original)
    def restore_unacked(self, client=None):
        try:
            return original(self, client)
        except AttributeError:
            if getattr(self.channel.connection, "client", None) is not None:
                raise  # not the closed-connection case: a real bug, let it show
            log.warning(
                "broker connection lost with %d unacknowledged message(s): left to Redis'"
                " visibility timeout (the outbox rings for due rows anyway)",
                len(self._delivered),
            )
            self._delivered.clear()
            return None

    kombu_redis.QoS.restore_unacked = restore_unacked
    _installed = True
