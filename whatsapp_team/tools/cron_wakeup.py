"""Wake Odoo's cron workers on a connection kept open for it.

Odoo's cron workers listen to ``cron_trigger`` on the ``postgres`` database
(notifications do not cross databases), and ``ir.cron._notifydb`` opens a
connection to it for each notification: Odoo's pool never keeps connections
to ``postgres``, so that database can be dropped or copied. For a webhook
that wakes the processors on every call, that is a new PostgreSQL backend
per call (a process started, authenticated, perhaps TLS negotiated): more
than the rest of the request. Each server process keeps one connection to
``postgres`` for it instead, opened when first needed, and opens it again
after an error or in a forked child.
"""

import logging
import os
import threading

import psycopg2
from psycopg2 import sql

from odoo.sql_db import connection_info_for

_logger = logging.getLogger(__name__)
# ir.cron's own notification function, which Odoo lets a deployment replace
NOTIFY_FUNCTION = os.getenv("ODOO_NOTIFY_FUNCTION", "pg_notify")

_lock = threading.Lock()
_kept = {"pid": None, "connection": None}


def _connection():
    if _kept["pid"] != os.getpid():
        # a forked worker must not share its parent's socket: forget it
        _kept.update(pid=os.getpid(), connection=None)
    connection = _kept["connection"]
    if connection is None or connection.closed:
        _name, info = connection_info_for("postgres")
        connection = psycopg2.connect(**info)
        connection.autocommit = True
        _kept["connection"] = connection
    return connection


def _forget():
    connection = _kept["connection"]
    _kept["connection"] = None
    if connection is not None and not connection.closed:
        try:
            connection.close()
        except psycopg2.Error as error:
            _logger.debug("Closing the connection to wake the crons: %s", error)


def notify_cron_workers(dbname):
    """Send the notification ``ir.cron._notifydb`` sends, for ``dbname``.

    Tried twice (the kept connection may have been closed by the server);
    an error the second time is raised.
    """
    with _lock:
        for attempt in (1, 2):
            try:
                with _connection().cursor() as cursor:
                    cursor.execute(
                        sql.SQL("SELECT {}('cron_trigger', %s)").format(
                            sql.Identifier(NOTIFY_FUNCTION)
                        ),
                        [dbname],
                    )
                return
            except psycopg2.Error:
                _forget()
                if attempt == 2:
                    raise
                _logger.info("Connection to wake the cron workers lost: reopened")
