# zaloan: two commands for a fresh machine with Python 3.11+ and make.
#   make run    serve the demo commune on SQLite at http://127.0.0.1:5000 (HOST=0.0.0.0 make run: on the network)
#   make test   run the whole test suite (SQLite; with CI=true also PostgreSQL, see scripts/test.sh)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
PORT ?= 5000
HOST ?= 127.0.0.1

.PHONY: run test translations i18n

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Compile the translation catalogues (.po -> .mo); the .mo files are not committed.
translations: $(VENV)/.runtime
	$(BIN)/pybabel compile -d zaloan/translations

# Refresh the catalogue from the code; then fill in every new msgstr (scripts/i18n.py set).
i18n: $(VENV)/.runtime
	$(BIN)/python scripts/i18n.py update

run: $(VENV)/.runtime translations
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python app.py

test: $(VENV)/.dev translations
	bash scripts/test.sh
