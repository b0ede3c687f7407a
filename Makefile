# The two commands of the README. Both set everything up first (idempotent, fast when done).
.PHONY: demo test setup

setup:
	@bash scripts/setup.sh

demo: setup
	@.venv/bin/puyu ui

test: setup
	@PUYU_SLOW_TESTS=1 .venv/bin/python -m pytest -q
