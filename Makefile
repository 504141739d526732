# The two commands of the README: `make demo` and `make test`. Both set everything up first.
VENV  := .venv
STAMP := $(VENV)/.framescore-installed

.PHONY: setup demo test bench clean

$(STAMP): pyproject.toml tools/setup.sh
	bash tools/setup.sh
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/framescore video examples/bikes.mp4 -o out/demo --seed 0

# one worker per core (pytest-xdist): the end-to-end tests are single-threaded, so two cores halve the wait
test: setup
	$(VENV)/bin/python -m pytest -n auto

bench: setup
	$(VENV)/bin/python bench/bench_cli.py
	$(VENV)/bin/python bench/bench_pipeline.py
	$(VENV)/bin/python bench/bench_engines.py
	$(VENV)/bin/python bench/bench_render.py

clean:
	rm -rf out .pytest_cache
