# The two commands the README opens with: `make run` and `make test`.
# Both create .venv on first use and install the project from pyproject.toml, with the
# releases pinned in constraints.txt (`make lock` renews them).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench sandbox clean lock catalogs

# The releases pinned in constraints.txt, so that every machine and CI run the same ones.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

lock:  ## constraints.txt anew: what '.[dev]' installs today in a fresh venv, pinned
	set -e; venv=$$(mktemp -d); trap 'rm -rf "$$venv"' EXIT; \
	$(PYTHON) -m venv "$$venv"; \
	"$$venv/bin/python" -m pip install --quiet -e '.[dev]'; \
	{ sed -n '/^#/p' constraints.txt; "$$venv/bin/python" -m pip freeze --exclude-editable; } \
		> constraints.txt.new
	mv constraints.txt.new constraints.txt

catalogs: $(STAMP)  ## the texts to translate: extract them, then merge them into each language
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --omit-header --sort-output \
		-o dialogs/locale/messages.pot .
	for po in dialogs/locale/*/LC_MESSAGES/messages.po; do \
		$(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete --no-location \
			-i dialogs/locale/messages.pot -o "$$po" \
			-l "$$(basename "$$(dirname "$$(dirname "$$po")")")"; \
	done

run: $(STAMP)  ## the bot: Telegram when BOT_TOKEN is set, else the offline sandbox
	$(BIN)/bmx-bot

sandbox: $(STAMP)
	$(BIN)/bmx-bot sandbox

lint: $(STAMP)  ## ruff (lint and format) and mypy over bot, dialogs and storage ([tool.mypy])
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint  ## lint (ruff, mypy), then every test (SQLite, and PostgreSQL when it answers)
	$(BIN)/pytest -q -n 8  # most tests wait on the bot, not the CPU (two cores about 40% busy at -n 6)

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
