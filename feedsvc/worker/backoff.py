"""Waiting out a database that does not answer, the one rule every loop of the worker
(delivery, feed pulling, webhooks, mail) follows: from 50 ms, doubling, at most
`MAX_OUTAGE_WAIT`, with jitter so that several workers do not knock at once; and the
loop of the threads beside delivery (`keep_going`)."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from feedsvc import db
from feedsvc.store.changes import micros

MAX_OUTAGE_WAIT = 5.0


def outage_wait(outages: int) -> float:
    """Seconds to wait after the `outages`-th failed attempt in a row (1, 2, …)."""
    ceiling: float = min(MAX_OUTAGE_WAIT, 0.05 * 2.0 ** min(outages - 1, 10))
    return ceiling * random.uniform(0.5, 1.0)


def keep_going(
    what: str,
    one_round: Callable[[], int | None],
    clock: Callable[[], datetime],
    *,
    dialect: str,
    stop: threading.Event,
    look_interval: float,
    log: logging.Logger,
) -> None:
    """Runs `one_round` until `stop` is set: a thread of the worker beside delivery (feed
    pulling, webhooks). A round returns when something is next due (epoch µs), or None;
    the next round starts then, or after `look_interval`, whichever comes first. Outages
    (`db.is_outage`) are waited out with `outage_wait`; any other error is logged and the
    next round tried after `look_interval`: one channel's failure stops no other."""
    outages = 0
    while not stop.is_set():
        wait = look_interval
        try:
            due_us = one_round()
        except SQLAlchemyError as error:
            if db.is_outage(error, dialect):
                outages += 1
                wait = outage_wait(outages)
                log.warning("database unavailable while %s (%s); again in %.2f s", what, error, wait)
            else:
                log.exception("%s failed; trying again in %.0f s", what, wait)
        except Exception:
            log.exception("%s failed; trying again in %.0f s", what, wait)
        else:
            outages = 0
            if due_us is not None:
                wait = min(wait, max(0.0, (due_us - micros(clock())) / 1_000_000) + 0.001)
        stop.wait(wait)
