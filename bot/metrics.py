"""Prometheus metrics (prometheus-client), served at /metrics by `bot.http_server`.

Module-level, as prometheus-client intends: one set per process, whatever runs in it.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

UPDATES = Counter("bmx_updates", "Updates handled, by kind", ["kind"])
SENDS = Counter(
    "bmx_sends", "Bot API sends of new messages, by lane and outcome", ["lane", "outcome"]
)
LIMITED = Counter("bmx_telegram_429", "429 answers from Telegram, by what paused", ["scope"])
WAITING = Gauge("bmx_governor_waiting", "Sends waiting for a slot, by level", ["level"])
REMINDER_LATENESS = Histogram(
    "bmx_reminder_lateness_seconds",
    "From a prompt's due time to its send",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
DELIVERIES = Counter("bmx_tip_deliveries", "Tip deliveries finished, by status", ["status"])
DB_TRANSACTION = Histogram(
    "bmx_db_transaction_seconds",
    "Time of one database transaction",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
LEADING = Gauge("bmx_bulk_sender", "1 while this process sends the reminders and tips")
WEBHOOK_REFUSED = Counter(
    "bmx_webhook_refused",
    "Webhook posts refused: a wrong or missing secret token (403), not an update (400)",
    ["reason"],
)
HTTP_CONNECTIONS_SHED = Counter(
    "bmx_http_connections_shed",
    "Connections the HTTP server closed at its connection limit, to make room or refused",
)
