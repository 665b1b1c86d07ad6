# The two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
OUR_APPS := accounts dispatch places realtime delivery worker checklists records audit postcodes
# The browser tests (tests/e2e/) drive Debian's Chromium through Playwright; nothing here ever
# downloads a browser of its own.
CHROMIUM := /usr/bin/chromium
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
# axe-core for the accessibility tests, from npm at the version pinned in the lockfile (tests/e2e/);
# reinstalled only when the lockfile changes. node_modules/ is git-ignored and never served.
E2E_TOOLS := tests/e2e
E2E_STAMP := $(E2E_TOOLS)/node_modules/.installed
# The front-end libraries the product serves itself (Leaflet for the maps), from npm at the versions
# pinned in frontend/package-lock.json, served under /static/vendor/ (STATICFILES_DIRS), never from a
# CDN; reinstalled only when the lockfile changes. node_modules/ is git-ignored.
FRONTEND := frontend
FRONTEND_STAMP := $(FRONTEND)/node_modules/.installed

.PHONY: run test test-fast lint check browser e2e-tools frontend install serve bench clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

$(FRONTEND_STAMP): $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	npm ci --prefix $(FRONTEND) --no-audit --no-fund --silent
	touch $(FRONTEND_STAMP)

frontend: $(FRONTEND_STAMP)

install: $(STAMP) $(FRONTEND_STAMP)

run: $(STAMP) $(FRONTEND_STAMP)
	$(PY) manage.py migrate --verbosity 0
	$(PY) manage.py load_demo_data
	$(PY) manage.py load_demo_history
	$(PY) manage.py create_demo_vapid_key
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo
	@echo "  Co-responder alerting is running at http://$(HOST):$(PORT)/"
	@echo "    Firefighters' app:    http://$(HOST):$(PORT)/"
	@echo "    Coordinators' admin:  http://$(HOST):$(PORT)/admin/   (live board: /admin/dispatch/incident/board/)"
	@echo "    API docs:             http://$(HOST):$(PORT)/api/docs/"
	@echo "  Demo logins (password for all: demo-password-2026):"
	@echo "    coordinator, coordinator2             coordinators (admin, board, dispatch, reports); the admin"
	@echo "                                           asks staff for a code: scan its QR code with an"
	@echo "                                           authenticator app the first time"
	@echo "    welfare                                welfare lead (crews' welfare check-ins)"
	@echo "    safety                                 clinical safety officer (approves the checklist in the admin;"
	@echo "                                           until then the app shows it as not clinically approved)"
	@echo "    firefighters, 3 at each of 9 Norfolk stations; the .1 of each is its crew lead (outcome form):"
	@echo "      ff.great-yarmouth.1   ff.great-yarmouth.2   ff.great-yarmouth.3"
	@echo "      ff.gorleston.1        ff.gorleston.2        ff.gorleston.3"
	@echo "      ff.kings-lynn.1       ff.kings-lynn.2       ff.kings-lynn.3"
	@echo "      ff.norwich.1          ff.norwich.2          ff.norwich.3"
	@echo "      ff.north-walsham.1    ff.north-walsham.2    ff.north-walsham.3"
	@echo "      ff.sheringham.1       ff.sheringham.2       ff.sheringham.3"
	@echo "      ff.thetford.1         ff.thetford.2         ff.thetford.3"
	@echo "      ff.dereham.1          ff.dereham.2          ff.dereham.3"
	@echo "      ff.wymondham.1        ff.wymondham.2        ff.wymondham.3"
	@echo "    cad                                    the ambulance dispatch system (make a token:"
	@echo "                                           .venv/bin/python manage.py create_api_token cad)"
	@echo "  The reports hold a generated first year of the pilot (405 emergencies from 18 July 2016):"
	@echo "    http://$(HOST):$(PORT)/admin/reports/?date_from=2016-07-18&date_to=2017-07-17"
	@echo "  Stop with Ctrl-C."
	@echo
	DJANGO_ALLOWED_ORIGINS=http://$(HOST):$(PORT),http://localhost:$(PORT) \
	  $(PY) manage.py serve --host $(HOST) --port $(PORT)

# ruff, and the layers of backend/ (.importlinter; docs/architecture.md): no import against the
# grain, no import cycle, a worker that knows no app.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=. $(VENV)/bin/lint-imports --no-cache

# `check --deploy` with the settings a real deployment would have (no connection is made).
check: $(STAMP) $(FRONTEND_STAMP)
	DJANGO_ENV=production \
	DJANGO_SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(60))') \
	DATABASE_URL=postgres://coresponder@db.invalid/coresponder \
	DJANGO_ALLOWED_HOSTS=coresponder.example.nhs.uk \
	DJANGO_ALLOWED_ORIGINS=https://coresponder.example.nhs.uk \
	VAPID_PRIVATE_KEY=$$($(PY) -c 'from backend.delivery import vapid; print(vapid.private_key_b64(vapid.generate()))') \
	VAPID_SUBJECT=mailto:coresponder-admin@nhs.net \
	PUBLIC_BASE_URL=https://coresponder.example.nhs.uk \
	  $(PY) manage.py check --deploy --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run $(OUR_APPS)

# Debian's chromium for the browser tests, installed if missing (as root, as CI runs, or with sudo).
browser:
	@test -x $(CHROMIUM) || { \
	  echo "Installing Debian's chromium for the browser tests (tests/e2e/)"; \
	  sudo=$$(test "$$(id -u)" -eq 0 || echo sudo); \
	  $$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	}
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) is still missing" >&2; exit 1; }

$(E2E_STAMP): $(E2E_TOOLS)/package.json $(E2E_TOOLS)/package-lock.json
	npm ci --prefix $(E2E_TOOLS) --no-audit --no-fund --silent
	touch $(E2E_STAMP)

e2e-tools: $(E2E_STAMP)

# pytest on PYTEST_WORKERS processes (pytest-xdist). Three on two cores: the browser and socket tests
# spend much of their time waiting. The fault clusters, and the tests that share a module's
# processes, run on one worker (tests/conftest.py: xdist_group_of); the rest, the browser tests
# included, are handed out one at a time.
# `make test PYTEST_WORKERS=0` runs it in this one process.
PYTEST_WORKERS ?= 3
PARALLEL := -n $(PYTEST_WORKERS) --dist loadgroup

test: lint check browser e2e-tools frontend
	node --test tests/js/
	$(PY) -m pytest $(PARALLEL)

# The unit and API tests, in a couple of minutes: no browser, no process started, no fault
# injection, no fuzzing (the markers are in pytest.ini). `make test` runs everything.
FAST_TESTS := not browser and not processes and not faults and not fuzz

test-fast: $(STAMP) $(FRONTEND_STAMP)
	node --test tests/js/
	$(PY) -m pytest $(PARALLEL) -m "$(FAST_TESTS)"

bench: $(STAMP) $(FRONTEND_STAMP)
	$(PY) bench/dispatch_latency.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache $(E2E_TOOLS)/node_modules $(FRONTEND)/node_modules
