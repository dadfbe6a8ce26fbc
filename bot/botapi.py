"""Facts about the Bot API that both the bot's outbound governor and the emulator rely on."""

from telegram.error import NetworkError


class NotSent(NetworkError):
    """The request never left: no connection could be made to the Bot API (refused, no such
    host, connect timeout, no free connection). Unlike a timeout after sending, it certainly
    did not reach Telegram, so it is safe to try again."""


# Methods that put a new message into a chat: they count against Telegram's overall budget
# and against the chat's own (about one a second). Edits of a message already sent do not.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendSticker",
        "sendVoice",
        "sendVideo",
        "sendAnimation",
        "sendAudio",
        "sendLocation",
        "sendContact",
        "copyMessage",
        "forwardMessage",
    }
)
