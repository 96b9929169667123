# The two commands of the README: `make main` (set up, then run the main job) and `make test`.
SHELL := /bin/bash
VENV := .venv/bin
EXPERIMENT ?= demo
RECORDED ?= llmrouter
# The TRouter of the experiment's ablation rows (paper: trouter_paper).
TROUTER ?= trouter
PROFILE := --workflow-profile workflow/profiles/default
export PATH := $(CURDIR)/$(VENV):$(PATH)
export HF_HUB_OFFLINE := 1
export WANDB_MODE ?= offline

.PHONY: setup main test lint ablation-evaluator

setup:
	bash scripts/setup.sh

# The live pipeline (demo), then routing on recorded outcomes (llmrouter); both tables printed.
main: setup
	snakemake $(PROFILE) --config experiment=$(EXPERIMENT)
	@echo; cat results/$(EXPERIMENT)/report/table.md
	snakemake $(PROFILE) --config experiment=$(RECORDED)
	@echo; cat results/$(RECORDED)/report/table.md

# The synthesis-level ablation "w/o quality evaluator": the experiment again with the evaluator
# off (its own run, results/$(EXPERIMENT)-no-evaluator: new taxonomy, QA and labels), TRouter
# cold-start only; then the experiment's report again, its ablation row filled
# (make ablation-evaluator EXPERIMENT=paper TROUTER=trouter_paper for the paper's settings).
ablation-evaluator: setup
	snakemake $(PROFILE) --config experiment=$(EXPERIMENT) name=$(EXPERIMENT)-no-evaluator \
	  'overrides=["taxonomy.evaluator=false","routing.routers=[$(TROUTER)]","routing.star=[]","routing.protocols=[cold_start]","report.ablations=[]"]'
	snakemake $(PROFILE) --config experiment=$(EXPERIMENT) --forcerun report
	@echo; cat results/$(EXPERIMENT)/report/table.md

# Two workers (pytest-xdist; a third only adds contention on 2 cores), each file on one; the
# slowest files start first (tests/conftest.py; --no-loadscope-reorder keeps that order, which
# xdist would otherwise replace by the number of tests per file).
test: setup
	python -m pytest -n 2 --dist loadfile --no-loadscope-reorder

lint: setup
	ruff check src tests scripts
	snakemake --lint
	snakemake --lint --config experiment=$(RECORDED)
