# Every target sets up the virtual environment itself, so a fresh machine needs nothing else.
# PYTHON: empty picks the newest supported Python that runs (3.13, 3.12, 3.11; pyenv versions
# too); `make test PYTHON=python3.11` chooses one. VENV: where it lives (one per Python, if you like).
PYTHON ?=
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: venv test demo lint wsdl samples bench profile clean

# Always run: the script rebuilds the venv when PYTHON changed, installs when setup.cfg changed,
# and otherwise returns at once.
venv:
	@sh scripts/venv.sh "$(PYTHON)" "$(VENV)"

# The whole suite, PostgreSQL included: the tests start a private cluster when the server binaries
# exist (or use OCPP_SOAP_TEST_PG_URL). Most tests wait on real servers rather than compute, so
# TEST_WORKERS processes (pytest-xdist, one test file each at a time) share the cores; 0 runs them
# all in one process.
TEST_WORKERS ?= 4
# Tests marked serial assert wall-clock bounds, so they run afterwards, alone.
test: venv
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not serial"
	$(BIN)/python -m pytest -q -m serial

lint: venv
	$(BIN)/ruff check .

wsdl: venv
	$(BIN)/python -m ocpp_soap.soap.wsdlgen wsdl

samples: venv
	$(BIN)/python -m ocpp_soap.tools.samplegen samples

demo: venv
	$(BIN)/python -m ocpp_soap.demo

# Figures, not tests (bench/README.md says how to read them); JSON copies land in bench/last/.
bench: venv
	mkdir -p bench/last
	$(BIN)/python bench/wire.py --json bench/last/wire.json
	$(BIN)/python bench/profile.py --json bench/last/profile.json
	$(BIN)/python bench/http.py --json bench/last/http.json
	$(BIN)/python bench/fleet.py --json bench/last/fleet.json
	$(BIN)/python bench/console.py --json bench/last/console.json

# Where a gunicorn worker's time goes under HTTP load (py-spy, installed here on first use).
profile: venv
	test -x $(BIN)/py-spy || $(BIN)/pip install -q 'py-spy>=0.3.14'
	$(BIN)/python bench/spy.py --mix heartbeat
	$(BIN)/python bench/spy.py --mix mixed

clean:
	rm -rf .venv .venv-* build *.egg-info
