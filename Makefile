# Every target sets up the virtual environment first when it is missing or stale.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTRITON := $(VENV)/.pytriton-installed
DATA ?= ../shared/data

.PHONY: demo test models baselines serve bench bench-quick pytriton lint clean-venv
HOST ?= 127.0.0.1
PORT ?= 8000

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) -m scripts.demo

test: $(STAMP)
	$(PY) -m pytest

# About 15 minutes on 2 cores; writes bench/RESULTS.md and bench/results.json.
bench: $(STAMP) $(PYTRITON)
	$(PY) -m bench.run --data-root $(DATA)

# PyTriton, a benchmark peer, is kept out of pyproject.toml: nvidia-pytriton 0.7.0 declares
# numpy<2, and pandas 3 needs numpy 2. It is installed on its own and numpy 2 restored;
# its Triton stub runs in a separate environment (see bench/peers/pytriton_server.py).
pytriton: $(PYTRITON)

$(PYTRITON): $(STAMP)
	$(PY) -m pip install --quiet nvidia-pytriton==0.7.0
	$(PY) -m pip install --quiet "numpy>=2"
	@touch $@

# Every benchmark part on tiny inputs (about a minute), to check the harness.
bench-quick: $(STAMP)
	$(PY) -m bench.run --quick

serve: $(STAMP)
	$(PY) -m uvicorn app.main:app --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(VENV)/bin/hadolint Dockerfile

# Retrain the three default models from the real data sets (about 35 minutes on 2 idle CPU cores).
models: $(STAMP)
	$(PY) -m training train image --data $(DATA)/images/cifar10/train.tar \
		--test-data $(DATA)/images/cifar10/test.tar --output models/cifar10.pt --epochs 12 --seed 0
	$(PY) -m training train text --data $(DATA)/text/sms_spam.csv \
		--output models/sms-spam.pt --seed 0 --threads 1
	$(PY) -m training train tabular --data $(DATA)/tabular/adult.csv --label-column income \
		--output models/adult-income.pt --seed 0 --ensemble 5 --threads 1
	$(PY) scripts/baselines.py --data-root $(DATA) --json models/baselines.json

baselines: $(STAMP)
	$(PY) scripts/baselines.py --data-root $(DATA) --json models/baselines.json

clean-venv:
	rm -rf $(VENV)
