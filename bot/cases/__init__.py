"""Use cases: one function per thing a person can do (a client or a staff member).

Each loads what it needs in one unit of work, decides with the pure rules in `dialogs/`,
writes, and returns what to send (posting to the staff chat itself where the action is a post
there). Handlers in `bot/handlers/` only parse the update and deliver; they never touch the
database. See docs/layers.md.
"""
