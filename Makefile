# Two commands on a fresh machine: `make run` and `make test`. Both do their own set-up.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: install run test test-fast update-goldens bench ig lint lock clean definitions

# constraints.txt pins every installed version (CI and a newcomer get what the suite was run
# with); pyproject.toml keeps the ranges. `make lock` re-pins after a deliberate upgrade.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,postgres]'
	@touch $(STAMP)

lock: $(STAMP)
	$(PY) -m pip install --quiet --upgrade -e '.[test,postgres]'
	( echo "# pinned versions of every dependency (make lock); ranges are in pyproject.toml"; \
	  $(PY) -m pip freeze --exclude-editable --exclude cm-fhir | LC_ALL=C sort ) > constraints.txt

definitions: $(STAMP)
	$(PY) -m fhir_service.conformance.package

install: $(STAMP) definitions

run: install
	$(VENV)/bin/cm-fhir serve --host $(HOST) --port $(PORT)

# the whole suite (CI: .ci/run); JVM-backed tests run when CI is set or CM_FHIR_JVM_TESTS=1
test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

# the inner loop: everything but the JVM-backed, PostgreSQL and slow tests (markers: pyproject.toml),
# spread over the cores (pytest-xdist)
test-fast: install
	$(PY) -m pytest -q -n auto -m 'not jvm and not postgres and not slow' $(PYTEST_ARGS)

# rewrite the golden files and reports the tests compare with (never part of a normal run);
# review `git diff` before committing them
update-goldens: install
	$(PY) -m pytest -q --update-goldens -m golden $(PYTEST_ARGS)

bench: install
	$(PY) -m bench.run

ig: install
	bash profiles/build.sh

lint: install
	$(VENV)/bin/ruff check fhir_service tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) var
