"""What every handler needs, built once at start and shared through the Application."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.logs import OncePerOutage
from bot.settings import Settings
from bot.throttle import ChatThrottle
from dialogs.clinic import Clinic
from dialogs.content import Content
from dialogs.emergency import Phrases
from dialogs.questionnaire import Questionnaire
from dialogs.tips import LibraryTip
from storage.db import Database
from storage.models import utcnow


@dataclass
class Services:
    settings: Settings
    db: Database
    # The clinic's content (CONTENT_DIR): swapped whole when it is reloaded (SIGHUP), so
    # read it through the properties below at the time of use, not once at start.
    content: Content
    clock: Callable[[], datetime] = utcnow  # when reminders fall due; tests may set the time
    throttle: ChatThrottle = field(default_factory=ChatThrottle)  # per-client fairness
    # A client's messages to the team held until the last of a burst (merged into one post,
    # bot.cases.handoff.RelayBurst).
    relay_bursts: dict[int, Any] = field(default_factory=dict)
    # Hand-off alerts the staff chat refused, by request: when to try again (backing off,
    # bot.cases.inbox.AlertRetry).
    alert_retries: dict[int, Any] = field(default_factory=dict)
    # One log line when the database goes away, not a traceback per update and job tick.
    database_trouble: OncePerOutage = field(
        default_factory=lambda: OncePerOutage(logging.getLogger("bot.database"), "the database")
    )

    def is_staff(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.staff_ids

    @property
    def clinic(self) -> Clinic:
        return self.content.clinic

    @property
    def questionnaire(self) -> Questionnaire:
        return self.content.questionnaire

    @property
    def phrases(self) -> Phrases:
        """The emergency and crisis phrases free text is checked against."""
        return self.content.phrases

    @property
    def tips(self) -> tuple[LibraryTip, ...]:
        """The ready tips staff pick with /tips."""
        return self.content.tips

    @property
    def service_names(self) -> dict[str, str]:
        return self.content.service_names


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """PTB's callback context with typed access to our services."""

    @property
    def services(self) -> Services:
        return services_of(self.application)


def services_of(application: Application) -> Services:
    services = application.bot_data["services"]
    assert isinstance(services, Services)
    return services
