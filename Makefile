# Every target sets up .venv itself, so a fresh machine needs nothing else.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test demo lint wsdl samples bench profile clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (spyne 2.14 does not run on 3.12+)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

test: venv
	$(BIN)/python -m pytest -q
	@if [ -n "$$OCPP_SOAP_TEST_PG_URL" ]; then \
	  echo "domain tests again, on PostgreSQL"; \
	  OCPP_SOAP_TEST_DOMAIN_ON_PG=1 $(BIN)/python -m pytest -q tests/central/test_domain_*.py; \
	fi

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

# Where a gunicorn worker's time goes under HTTP load (py-spy, installed here on first use).
profile: venv
	test -x $(BIN)/py-spy || $(BIN)/pip install -q 'py-spy>=0.3.14'
	$(BIN)/python bench/spy.py --mix heartbeat
	$(BIN)/python bench/spy.py --mix mixed

clean:
	rm -rf $(VENV) build *.egg-info
