"""What every handler needs, built once at start and shared through the Application."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.logs import OncePerOutage
from bot.settings import Settings
from bot.throttle import ChatThrottle
from dialogs.emergency import CRISIS, Phrases, load_phrases
from dialogs.questionnaire import (
    Questionnaire,
    QuestionnaireError,
    check_services,
    load_questionnaire,
)
from dialogs.tips import LibraryTip, load_tips
from storage.db import Database
from storage.models import utcnow


@dataclass
class Services:
    settings: Settings
    db: Database
    questionnaire: Questionnaire
    clock: Callable[[], datetime] = utcnow  # when reminders fall due; tests may set the time
    tips: tuple[LibraryTip, ...] = field(default_factory=load_tips)  # the ready tips for /tips
    phrases: Phrases = field(default_factory=load_phrases)  # emergency phrases in free text
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
    def service_names(self) -> dict[str, str]:
        return {sid: service.name for sid, service in self.questionnaire.services.items()}


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """PTB's callback context with typed access to our services."""

    @property
    def services(self) -> Services:
        return services_of(self.application)


def services_of(application: Application) -> Services:
    services = application.bot_data["services"]
    assert isinstance(services, Services)
    return services


def load_content(settings: Settings, path: Path | None = None) -> Questionnaire:
    """The questionnaire, checked against the settings. Raises QuestionnaireError."""
    questionnaire = load_questionnaire(path) if path else load_questionnaire()
    check_services(questionnaire, set(settings.booking_urls))
    # A typed emergency is recorded like the answer naming the same symptom.
    named = {s.id for s in load_phrases().symptoms if s.tier != CRISIS}
    unnamed = sorted(named - set(questionnaire.symptoms))
    if unnamed:
        raise QuestionnaireError(
            f"symptoms: the emergency phrases name {', '.join(unnamed)}, missing here"
        )
    return questionnaire
