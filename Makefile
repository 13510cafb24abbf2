# Two commands: `make demo` serves the demo on http://localhost:8069,
# `make test` runs every check and ends with "N passed, N failed".
.PHONY: demo test lint bench clean

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

lint:
	./scripts/lint.sh

bench:
	./scripts/bench.sh

clean:
	@if [ -f var/pg/data/postmaster.pid ]; then \
		pg_ctl=$$(command -v pg_ctl || ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -n 1); \
		if [ "$$(id -u)" = 0 ]; then runuser -u postgres -- $$pg_ctl -D var/pg/data stop -m fast; \
		else $$pg_ctl -D var/pg/data stop -m fast; fi; \
	fi
	rm -rf var .pytest_cache .ruff_cache
