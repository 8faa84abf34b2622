# One command per job. `make demo` and `make test` set up first (idempotent, quick when already installed).
PY ?= python3
.PHONY: setup demo test test-slow bench
setup:
	bash scripts/setup.sh
demo: setup
	surge-hw demo --out runs/demo
test: setup
	$(PY) -m pytest -m "not slow" -n 2 --dist loadgroup
test-slow: setup
	$(PY) -m pytest -m slow
bench: setup
	$(PY) benchmarks/train_speed.py --out benchmarks/results/train_speed.json
