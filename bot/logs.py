"""Logging set-up. The bot token and what clients say never reach a log line.

httpx logs every request URL at INFO, and Bot API URLs contain the token
(`/bot<token>/sendMessage`), so httpx is kept at WARNING and, as a second guard, every record
passes through a filter that masks the token wherever it appears.

At DEBUG, python-telegram-bot logs whole updates, request parameters and replies: names, typed
text, answers, hand-off summaries. Logs outlive /delete and retention, so the same filter keeps
only the harmless part of those lines (the endpoint, the update's number). The database never
puts bound values into its errors (`hide_parameters`, storage/db.py).
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

_TOKEN_RE = re.compile(r"\d{5,12}:[A-Za-z0-9_-]{30,}")
_MASK = "<BOT_TOKEN>"
_HIDDEN = "<content hidden>"
# Library log lines that carry content (PTB's requests, replies and updates; SQLAlchemy's
# result rows), and which of their arguments does.
_CONTENT_ARGS = {
    "Row %r": 0,
    "Calling Bot API endpoint `%s` with parameters `%s`": 1,
    "Call to Bot API endpoint `%s` finished with return value `%s`": 1,
    "Processing update %s": 0,
    "Dropping pending update: %s": 0,
    "Webhook received data: %s": 0,
}


class RedactTokens(logging.Filter):
    """Mask anything shaped like a bot token, plus the configured token itself; drop the
    content of the library lines that would log what clients and staff wrote."""

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        hidden = _CONTENT_ARGS.get(record.msg) if isinstance(record.msg, str) else None
        if hidden is not None and isinstance(record.args, tuple) and len(record.args) > hidden:
            args = list(record.args)
            update_id = getattr(args[hidden], "update_id", None)
            args[hidden] = f"<update {update_id}>" if update_id is not None else _HIDDEN
            record.args = tuple(args)
        message = record.getMessage()
        masked = _TOKEN_RE.sub(_MASK, message)
        if self.token:
            masked = masked.replace(self.token, _MASK)
        if record.exc_info and record.exc_info[1] is not None:
            # Exceptions (httpx errors carry the URL) are formatted now and masked too.
            formatted = logging.Formatter().formatException(record.exc_info)
            masked += "\n" + _TOKEN_RE.sub(_MASK, formatted).replace(self.token or _MASK, _MASK)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = masked, None
        return True


def setup_logging(level: str, token: str | None = None) -> None:
    """Log to stderr at `level`; quiet the libraries that are chatty or leak URLs."""
    _install(logging.StreamHandler(), level, token)


def redirect_logs(level: str, path: Path) -> Path:
    """Send the log to a file instead (the sandbox's terminal is for the chat)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _install(logging.FileHandler(path, encoding="utf-8"), level, None)
    return path


def _install(handler: logging.Handler, level: str, token: str | None) -> None:
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = ("httpx", "httpcore", "apscheduler", "aiohttp.access", "alembic", "sqlalchemy")
    for noisy in quiet:
        logging.getLogger(noisy).setLevel(logging.WARNING)


class OncePerOutage:
    """While Telegram or the database is away, every getUpdates, job tick and update fails
    (PTB logs a traceback for each). This logs one line when the failures start and stays
    quiet while they continue (`quiet` seconds between failures)."""

    def __init__(self, logger: logging.Logger, what: str, quiet: float = 60.0) -> None:
        self.logger, self.what, self.quiet = logger, what, quiet
        self._last = float("-inf")

    def __call__(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last > self.quiet:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            self.logger.warning("%s failing: %s (retrying quietly)", self.what, first)
        self._last = now
