"""Facts about the Bot API that both the bot's outbound governor and the emulator rely on."""

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
