# The two commands of the README: `make main` (set up, then run the main job) and `make test`.
SHELL := /bin/bash
VENV := .venv/bin
EXPERIMENT ?= demo
export PATH := $(CURDIR)/$(VENV):$(PATH)
export HF_HUB_OFFLINE := 1
export WANDB_MODE ?= offline

.PHONY: setup main test lint

setup:
	bash scripts/setup.sh

main: setup
	snakemake --workflow-profile workflow/profiles/default --config experiment=$(EXPERIMENT)
	@echo; cat results/$(EXPERIMENT)/report/table.md

test: setup
	python -m pytest

lint: setup
	ruff check src tests scripts
	snakemake --lint
