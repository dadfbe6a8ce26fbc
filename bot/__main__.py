"""`python -m bot` is `bmx-bot`."""

import sys

from bot.cli import main

sys.exit(main())
