# The two commands the README opens with: `make run` and `make test`.
# Both create .venv on first use and install the project from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench sandbox clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## the bot: Telegram when BOT_TOKEN is set, else the offline sandbox
	$(BIN)/bmx-bot

sandbox: $(STAMP)
	$(BIN)/bmx-bot sandbox

test: $(STAMP)  ## lint, then every test (SQLite, and PostgreSQL when it answers)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n 6  # most tests wait on the bot, not the CPU (a third of two cores busy at -n 4)

bench: $(STAMP)  ## the benchmarks (several minutes; they print their figures)
	$(BIN)/python -m bench.screening
	$(BIN)/python -m bench.reminders
	$(BIN)/python -m bench.broadcast
	$(BIN)/python -m bench.flood
	$(BIN)/python -m bench.replicas
	$(BIN)/python -m bench.stats
	$(BIN)/python -m bench.stats --postgres

clean:
	rm -rf $(VENV) var/*.db build *.egg-info
