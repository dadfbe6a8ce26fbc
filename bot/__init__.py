"""The BodyMechanix Telegram assistant: PTB application, handlers, outbound, sandbox."""

import os

# Opt in to python-telegram-bot's timedelta time periods now (RetryAfter.retry_after etc.),
# instead of the deprecated integers and their warnings.
os.environ.setdefault("PTB_TIMEDELTA", "true")
