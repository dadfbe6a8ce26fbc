"""The conversation, without Telegram or a database: questionnaire, engine, scoring, texts."""
