# Golden Time — every command creates .venv and installs the pinned dependencies when needed.
# Python 3.12, as the functions run on Lambda: python3.12 on PATH, else pyenv's.
PYTHON ?= $(shell for p in python3.12 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12; do \
	$$p -V >/dev/null 2>&1 && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-py312-$(shell cat requirements.txt requirements-dev.txt requirements-infra.txt constraints.txt | sha1sum | cut -c1-12)
PYTEST_WORKERS ?= 2

.PHONY: help venv node lint system-deps test test-fast demo serve bench admin seed-cameras openapi client invoke synth deploy clean console chromium

help:
	@echo "make demo    - run the platform's main scenario end-to-end on the local platform"
	@echo "make test    - lint (ruff, mypy) and run every test"
	@echo "make serve   - run the local platform in the foreground (Ctrl-C stops it); API_PORT=, EDGE_PORT=, AWS_PORT="
	@echo "make invoke FN=trip_watchdog EVENT=events/schedule/trip_watchdog.json - one handler, one sample event"
	@echo "make bench   - run all benchmarks (BENCH <name> <value> <unit> lines); make bench-<area> for one"
	@echo "make openapi - regenerate openapi.json, the committed API contract"
	@echo "make synth   - synthesise the AWS CDK app offline into cdk.out/ (cdk-nag checked)"
	@echo "make admin ARGS='principal list' - the admin CLI against the running local platform"
	@echo "make seed-cameras COUNT=100000 - a synthetic Seoul camera catalog into the running local platform"
	@echo "make console - build the control-center console (console/dist, served at /console/ by make serve)"

$(STAMP):
	@test -n "$(PYTHON)" || { echo "Python 3.12 is needed (the Lambda runtime): install python3.12 or pyenv's 3.12"; exit 1; }
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade "pip>=24,<26.3"
	$(BIN)/python -m pip install -q -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

# The media edge runs the CloudFront Function's JavaScript (edge/viewer-request.js) under Node.
node:
	@command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs; }

# The console: npm ci when the lock changes, API types generated from the committed contract (openapi.json), tsc,
# vite build.
console/node_modules/.package-lock.json: console/package-lock.json | node
	cd console && npm ci --no-audit --no-fund

CONSOLE_SOURCES := $(shell find console/src console/index.html console/vite.config.ts console/tsconfig.json -type f \
	-not -name schema.d.ts 2>/dev/null)
console/dist/index.html: console/node_modules/.package-lock.json openapi.json $(CONSOLE_SOURCES)
	cd console && npm run build

console: $(STAMP) console/node_modules/.package-lock.json
	@$(MAKE) --no-print-directory console/dist/index.html

# The browser tests drive Debian's Chromium (Playwright's own browser download is not reachable); a Korean
# font so that the screenshots show the Korean text.
chromium:
	@command -v chromium >/dev/null && test -d /usr/share/fonts/truetype/nanum || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy app.py chalicelib functions local infra layers
	$(BIN)/mypy tests --allow-untyped-defs --allow-incomplete-defs --allow-untyped-calls --check-untyped-defs

# System tools the tests need: dcmtk encodes the JPEG transfer syntaxes pydicom cannot (baseline, extended, lossless);
# dicom3tools validates the result objects; fonts-nanum is the Korean font the PDF reports embed.
system-deps:
	@command -v dcmcjpeg >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dcmtk)
	@command -v dciodvfy >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dicom3tools)
	@test -f /usr/share/fonts/truetype/nanum/NanumGothic.ttf || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-nanum)  # Korean in PDFs and snapshots
	@test -f /usr/share/tesseract-ocr/5/tessdata/kor.traineddata || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-kor)  # tests read the heat-map legend's Korean back

test: lint node system-deps chromium console
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q

test-fast: $(STAMP) node
	$(BIN)/pytest -q -x

demo: $(STAMP) node console
	$(BIN)/python -m local demo

AWS_PORT ?= 4566
API_PORT ?= 8000
EDGE_PORT ?= 8001
serve: $(STAMP) node console  ## FAULTS=0.2: 20 % of AWS calls fail transiently; AWS_PORT/API_PORT/EDGE_PORT (0 = any free)
	$(BIN)/python -m local serve --aws-port $(AWS_PORT) --api-port $(API_PORT) --edge-port $(EDGE_PORT) $(if $(FAULTS),--faults $(FAULTS))

# One function's handler, once, with a sample event, against the running local platform (sam local invoke).
invoke: $(STAMP)
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=trip_watchdog EVENT=events/schedule/trip_watchdog.json"; exit 2; }
	@test -f .local/env || { echo "error: the local platform is not running (no .local/env): start it with make serve"; exit 3; }
	@. .local/env && $(BIN)/python -m local.invoke $(FN) $(EVENT)

admin: $(STAMP)
	@test -f .local/env || { echo "error: the local platform is not running (no .local/env): start it with make serve"; exit 3; }
	@. .local/env && $(BIN)/python -m chalicelib.cli $(ARGS)

# Synthetic Seoul camera catalog (development data, local/seoul_catalog.py) into the running local platform.
seed-cameras: $(STAMP)
	@test -f .local/env || { echo "error: the local platform is not running (no .local/env): start it with make serve"; exit 3; }
	@. .local/env && $(BIN)/python -m local.seoul_catalog --count $(or $(COUNT),100000)

BENCH_AREAS := foundation xray saferet links search infra monitor reliability console

# Every area runs even when one misses a target (its script exits non-zero); the list of misses ends it.
bench: $(STAMP)
	@missed=""; for area in $(BENCH_AREAS); do $(MAKE) --no-print-directory bench-$$area || missed="$$missed $$area"; done; \
	if [ -n "$$missed" ]; then echo "benchmarks that missed a target or failed:$$missed"; exit 1; fi

# Each area's script prints `BENCH <name> <value> <unit>` lines.
$(addprefix bench-,$(BENCH_AREAS)): bench-%: $(STAMP) node
	@test -f tests/bench/bench_$*.py || { echo "no benchmark for area $* yet"; exit 1; }
	PYTHONPATH=. $(BIN)/python tests/bench/bench_$*.py

bench-console: console chromium

# Readings into a PACS (xray_to_pacs_*, xray_stow_to_pacs_*): part of area xray, beside bench_xray.py.
bench-xray-pacs: $(STAMP) node
	PYTHONPATH=. $(BIN)/python tests/bench/bench_xray_pacs.py
	PYTHONPATH=. $(BIN)/python tests/bench/bench_xray_pacs.py --via stow
bench-xray: bench-xray-pacs

# Faults, restarts and positions load on the served platform, beside bench_reliability.py (hostile input).
bench-reliability-platform: $(STAMP)
	PYTHONPATH=. $(BIN)/python tests/bench/bench_reliability_platform.py
bench-reliability: bench-reliability-platform

# The committed API contract (openapi.json) from the registered routes; a unit test fails while they differ.
openapi: $(STAMP)
	$(BIN)/python -m local.openapi

# The typed Python client a client team would generate (openapi-python-client, pinned), into build/clients/
# (ignored: regenerated from openapi.json whenever it changes; the end-to-end tests use it the same way).
client: $(STAMP)
	@PYTHONPATH=. $(BIN)/python -c "from local.api_client import generate; print(generate())"

synth: $(STAMP)  ## CloudFormation into cdk.out/, offline, with cdk-nag (npx --yes aws-cdk@^2.1148 synth does the same via cdk.json)
	$(BIN)/python -m infra.app
	@$(BIN)/python -m infra.synth_summary cdk.out

deploy: $(STAMP)
	layers/common/build.sh && layers/ml/build.sh
	npx --yes aws-cdk@^2.1148 deploy --all -c require_layers=true $(CDK_ARGS)

clean:
	rm -rf $(VENV) .local .mypy_cache .ruff_cache .pytest_cache
