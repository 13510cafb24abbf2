# Two commands: `make demo` serves the demo on http://localhost:8069,
# `make test` runs every check and ends with "N passed, N failed".
.PHONY: demo test lint bench clean

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

lint:
	ruff check whatsapp_team tests benchmarks
	ruff format --check whatsapp_team tests benchmarks
	pylint --rcfile=.pylintrc-mandatory whatsapp_team

bench:
	./scripts/bench.sh

clean:
	rm -rf var .pytest_cache .ruff_cache
