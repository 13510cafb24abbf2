"""Odoo's notifications between processes, on a connection kept open for them.

Odoo's cron workers listen to ``cron_trigger``, and its bus (the live
screens) to ``imbus``, on the ``postgres`` database (notifications do not
cross databases). ``ir.cron._notifydb`` and the bus's after-commit hook open
a connection to it for each notification: Odoo's pool never keeps
connections to ``postgres``, so that database can be dropped or copied. For
a webhook that wakes the processors on every call, and a processor that
commits every few messages with news for the team's screens, that is a new
PostgreSQL backend each time (a process started, authenticated, perhaps TLS
negotiated): more than the rest of the work. Each server process keeps one
connection to ``postgres`` for them instead, opened when first needed, and
opens it again after an error or in a forked child.
"""

import logging
import os
import threading

import psycopg2
from psycopg2 import sql

from odoo.sql_db import connection_info_for

_logger = logging.getLogger(__name__)
# ir.cron's and the bus's notification function, which Odoo lets a
# deployment replace
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


def notify(channel, payloads):
    """Send a notification on ``channel`` for each of ``payloads``, as Odoo
    does, on the kept connection.

    Tried twice (the kept connection may have been closed by the server);
    an error the second time is raised.
    """
    query = sql.SQL("SELECT {}(%s, %s)").format(sql.Identifier(NOTIFY_FUNCTION))
    with _lock:
        for attempt in (1, 2):
            try:
                with _connection().cursor() as cursor:
                    for payload in payloads:
                        cursor.execute(query, [channel, payload])
                return
            except psycopg2.Error:
                _forget()
                if attempt == 2:
                    raise
                _logger.info("Connection for Odoo's notifications lost: reopened")


def notify_on_new_connection(channel, payloads):
    """As :func:`notify`, on a connection of its own, closed afterwards: as
    Odoo does, when the kept one cannot be had."""
    _name, info = connection_info_for("postgres")
    query = sql.SQL("SELECT {}(%s, %s)").format(sql.Identifier(NOTIFY_FUNCTION))
    connection = psycopg2.connect(**info)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            for payload in payloads:
                cursor.execute(query, [channel, payload])
    finally:
        connection.close()


def notify_cron_workers(dbname):
    """Send the notification ``ir.cron._notifydb`` sends, for ``dbname``."""
    notify("cron_trigger", [dbname])
