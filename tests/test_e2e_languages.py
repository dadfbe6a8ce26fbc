"""A client is answered in their Telegram language when the clinic offers it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from bot.settings import Settings
from tests.content import content_folder


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the language is chosen before any database work."""
    return f"sqlite:///{tmp_path / 'bmx.db'}"


async def test_a_spanish_telegram_gets_spanish_where_the_clinic_offers_it(
    settings: Settings, emulator: BotApiEmulator, alice: SimUser, tmp_path: Path
) -> None:
    lucia = SimUser(emulator, 5003, "Lucía", language_code="es-ES")
    folder = content_folder(tmp_path / "content", clinic={"languages": ["en", "es"]})
    async with RunningBot(
        settings.model_copy(update={"content_dir": folder}), poll_timeout=1.0, settle=False
    ):
        await lucia.send("/start")
        await lucia.expect("¡Hola, Lucía! 👋 Soy el asistente de BodyMechanix.")
        consent = await lucia.expect("Antes de la autoevaluación: tus respuestas de salud")
        assert "¿Aceptas que BodyMechanix guarde tus respuestas de salud para esto?" in (
            consent.shown_text
        )
        await alice.send("/start")
        await alice.expect("Hi Alice! 👋 I'm the BodyMechanix assistant.")
        await alice.expect("Before the self-check: your health answers")


async def test_a_language_the_clinic_does_not_offer_gets_its_first(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    lucia = SimUser(emulator, 5003, "Lucía", language_code="es")
    await lucia.send("/start")
    await lucia.expect("Hi Lucía! 👋 I'm the BodyMechanix assistant.")


def test_offering_a_language_without_a_catalogue_is_a_mistake_and_an_unfinished_one_warned(
    tmp_path: Path,
) -> None:
    from tests.test_cli import bmx

    folder = content_folder(tmp_path / "fr", clinic={"languages": ["en", "fr"]})
    refused = bmx(tmp_path, "check", CONTENT_DIR=str(folder))
    assert refused.returncode == 2
    assert "languages.1: 'fr' has no catalogue (there are: en, es)" in refused.stderr
    folder = content_folder(tmp_path / "es", clinic={"languages": ["en", "es"]})
    warned = bmx(tmp_path, "check", CONTENT_DIR=str(folder))
    assert warned.returncode == 0, warned.stderr
    assert (
        "Warning: clinic.yaml offers 'es', whose translation is not complete yet: some texts "
        "reach its clients in 'en'"
    ) in warned.stderr
