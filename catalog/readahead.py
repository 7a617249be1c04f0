"""Reading ahead on a second thread: the import parses the next chunks of a file while the
calling thread writes the current one to the database."""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_DONE = object()


def read_ahead(items: Iterator[T], size: int, depth: int = 2) -> Iterator[list[T]]:
    """Chunks of ``items``, read and parsed by a second thread while the caller writes.

    Parsing is Python work and writing is mostly waiting on the database, so overlapping them
    nearly halves an import. At most ``depth`` chunks wait in memory. An error in the reader
    is raised here; leaving the loop early stops the reader.
    """
    chunks: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: Any) -> bool:
        while not stop.is_set():
            try:
                chunks.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for chunk in chunked(items, size):
                if not put(chunk):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)

    reader = threading.Thread(target=read, name="import-reader", daemon=True)
    with prompt_thread_switches():
        reader.start()
        try:
            while True:
                value = chunks.get()
                if value is _DONE:
                    return
                if isinstance(value, BaseException):
                    raise value
                yield value
        finally:
            stop.set()
            reader.join(timeout=5)


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_switching = threading.Lock()
_switching_users = 0
_switch_interval_before = 0.0


@contextlib.contextmanager
def prompt_thread_switches() -> Iterator[None]:
    """While readers run, hand the GIL over every 0.5 ms instead of Python's default 5 ms.

    The writing thread mostly waits on the database; when a reply arrives it needs the GIL
    back from the reader at once, or every round trip of a batch waits up to 5 ms on it.
    The interval is process-wide: the first of concurrent imports lowers it, the last one
    puts it back.
    """
    global _switching_users, _switch_interval_before
    with _switching:
        if _switching_users == 0:
            _switch_interval_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_interval_before, 0.0005))
        _switching_users += 1
    try:
        yield
    finally:
        with _switching:
            _switching_users -= 1
            if _switching_users == 0:
                sys.setswitchinterval(_switch_interval_before)
