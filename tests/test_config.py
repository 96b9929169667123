"""Every config group option and experiment overlay composes, and bad values fail clearly."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from trouter.errors import ConfigError
from trouter.llm.cards import card_from_config

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def compose_with(*overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_composes(experiment):
    cfg = compose_with(f"experiment={experiment}")
    OmegaConf.resolve(cfg)
    assert cfg.name == experiment
    assert cfg.paths.run_dir == f"results/{experiment}"
    for role in ("generator", "evaluator", "qa_writer"):
        card_from_config(cfg.roles[role], where=f"roles.{role}")
    assert len(cfg.taxonomy.seeds) <= cfg.taxonomy.max_domains


@pytest.mark.parametrize("synth", options("synthesizer"))
def test_every_synthesizer_is_one_override(synth):
    cfg = compose_with("experiment=paper", f"synthesizer={synth}")
    assert cfg.roles.generator.key == synth == cfg.roles.evaluator.key


@pytest.mark.parametrize("model", options("model"))
def test_every_model_card_is_valid(model):
    card = card_from_config(OmegaConf.load(CONF / "model" / f"{model}.yaml"), where=model)
    assert card.key == model
    if card.is_local:
        assert len(card.local["weights"]["sha256"]) == 64
    elif card.base_url.startswith("http://127.0.0.1:"):  # the loopback benchmark server
        assert card.key.startswith("loopback") and card.api_key_env is None
    else:
        assert card.api_key_env and card.base_url.startswith("https://")


def test_paper_settings():
    cfg = compose_with("experiment=paper")
    assert [s.name for s in cfg.taxonomy.seeds] == [
        "Mathematics", "Creative Writing", "Commonsense Knowledge", "Programming",
        "Long-context Understanding", "Reading Comprehension"]
    assert cfg.taxonomy.max_domains == 10 and cfg.taxonomy.patience == 3
    assert (cfg.qa.target_per_node, cfg.qa.batch_size, cfg.dedup.threshold) == (40, 8, 0.9)
    assert cfg.synthesizer.key == "gpt-4.1"
    assert cfg.judge.key == "gpt-4.1-nano"
    assert list(cfg.pool.candidates) == ["qwen3-0.6b", "qwen3-1.7b", "qwen3-8b", "qwen3-14b",
                                         "qwen3-32b", "qwen3-235b-a22b"]
    assert list(cfg.data.benchmarks) == ["gsm8k", "mmlu_redux", "humaneval", "squad",
                                         "multi_news"]
    assert cfg.labeling.cost_norm == "node" and cfg.taxonomy.evaluator
    # limits that can reach 10 domains, 103 subcategories and 447 difficulty nodes
    kids = cfg.taxonomy.children
    assert 10 * kids.domain.max >= 103 and 103 * kids.subcategory.max >= 447
    assert (cfg.data.synthetic.train_per_node, cfg.data.synthetic.val_per_node) == (30, 10)
    tests = {k: cfg.benchmarks[k].splits.test for k in cfg.data.benchmarks}
    assert tests == {"gsm8k": 400, "mmlu_redux": 400, "humaneval": 100, "squad": 400,
                     "multi_news": 100}  # HumanEval and Multi-News hold 164 and 200 items
    assert max(cfg.benchmarks[k].splits.train for k in cfg.data.benchmarks) == 500


def test_paper_decodes_and_labels_as_the_authors():
    """docs/fidelity.md: llm_engine.py (0.7, 2,000 tokens), metric_estimator.py (greedy, 2,048
    tokens, their prompt), few_shot_t_labeler.py (three steps, qwen3-235b-a22b), token F1 on
    Multi-News; our defaults stay greedy, short and ROUGE-L."""
    cfg = compose_with("experiment=paper")
    lab = cfg.labeling
    assert (lab.temperature, lab.synthetic_temperature, lab.max_tokens) == (0.7, 0.0, 2048)
    assert lab.synthetic_prompt == "authors"
    assert {cfg.benchmarks[k].max_tokens for k in cfg.data.benchmarks} == {2000}
    assert cfg.benchmarks.multi_news.metric == "token_f1"
    assert (cfg.routing.task_prior, cfg.routing.labeller_prompt) == ("llm", "authors")
    assert cfg.routing.labeller.key == "qwen3-235b-a22b"
    assert (cfg.router.head_dropout, cfg.router.metric_loss) == (0.1, "sum")
    demo = compose_with("experiment=demo")
    assert (demo.labeling.temperature, demo.labeling.synthetic_temperature) == (0.0, 0.0)
    assert demo.benchmarks.multi_news.metric == "rouge_l"
    assert demo.labeling.synthetic_prompt == "ours" and demo.router.metric_loss == "mean"


def test_config_choices_match_the_code():
    from trouter.checks import CHOICES
    from trouter.label.prompts import SYNTHETIC_PROMPTS
    from trouter.label.scoring import SUMMARY_METRICS
    from trouter.route.net import METRIC_LOSSES

    choices = dict(CHOICES)
    assert choices["router.metric_loss"] == METRIC_LOSSES
    assert choices["labeling.synthetic_prompt"] == tuple(SYNTHETIC_PROMPTS)
    assert choices["benchmarks.multi_news.metric"] == tuple(SUMMARY_METRICS)


# The authors' prices, CNY per 1M input / output tokens.
QWEN3_PRICES = {"qwen3-0.6b": (0.3, 1.2), "qwen3-1.7b": (0.3, 1.2), "qwen3-8b": (0.5, 2.0),
                "qwen3-14b": (1.0, 4.0), "qwen3-32b": (2.0, 8.0), "qwen3-235b-a22b": (2.0, 8.0)}


@pytest.mark.parametrize("model", sorted(QWEN3_PRICES))
def test_paper_pool_cards(model):
    cfg = compose_with("experiment=paper", "data.dataset=gsm8k", f"+model@candidate={model}")
    card = card_from_config(cfg.candidate, where="candidate")
    assert (card.price.input_per_1m, card.price.output_per_1m) == QWEN3_PRICES[model]
    assert card.price.currency == "CNY" and card.api_key_env == "DASHSCOPE_API_KEY"
    assert card.generation["extra_body"] == {"enable_thinking": False}  # non-thinking mode


def test_adaptive_llm_breaks_price_ties_by_size():
    from trouter.route.pool import models_by_price
    from trouter.route.utility import SETTINGS, adaptive_index

    models = models_by_price(compose_with("experiment=paper"))
    # 0.6B and 1.7B share a price, as do 32B and 235B-A22B (total parameters)
    assert models == ["qwen3-0.6b", "qwen3-1.7b", "qwen3-8b", "qwen3-14b", "qwen3-32b",
                      "qwen3-235b-a22b"]
    picks = {s: models[adaptive_index(len(models), *mu)] for s, mu in SETTINGS.items()}
    assert picks == {"cost_first": "qwen3-0.6b", "balanced": "qwen3-14b",
                     "perf_first": "qwen3-235b-a22b"}


@pytest.mark.parametrize("bad", ["-3", "0", "'many'", "true", ".nan"])
def test_card_size_must_be_positive(bad):
    card = OmegaConf.load(CONF / "model" / "qwen3-8b.yaml")
    card.params_b = OmegaConf.create(f"v: {bad}").v
    with pytest.raises(ConfigError, match=r"qwen3-8b.*params_b"):
        card_from_config(card, where="qwen3-8b")


@pytest.mark.parametrize("pool", options("pool"))
def test_every_pool_names_model_cards(pool):
    cfg = compose_with(f"pool={pool}")
    keys = list(cfg.pool.candidates)
    assert keys and len(set(keys)) == len(keys)
    assert all((CONF / "model" / f"{k}.yaml").is_file() for k in keys)
    currencies = {OmegaConf.load(CONF / "model" / f"{k}.yaml").price.currency for k in keys}
    assert len(currencies) == 1


def test_local_prices_grow_with_size():
    cfg = compose_with("experiment=demo")
    prices = [OmegaConf.load(CONF / "model" / f"{k}.yaml").price for k in cfg.pool.candidates]
    assert [p.input_per_1m for p in prices] == sorted(p.input_per_1m for p in prices)
    assert len({p.output_per_1m for p in prices}) == len(prices)


def test_router_defaults():
    cfg = compose_with("experiment=demo")
    assert cfg.router.hidden == 256 and cfg.routing.logger == "wandb"
    assert cfg.routing.task_prior == "nearest" and cfg.routing.labeller.key == cfg.judge.key
    assert compose_with("routing.logger=none").routing.logger == "none"
    # the paper's comparison: TRouter, the baselines (RouterDC, MetricRouter, kNN also as star
    # variants), PromptLLM, Adaptive LLM and the ablations
    assert {"trouter", "adaptive_llm", "prompt_llm", "knn", "metric_router", "routerdc",
            "trouter_no_task_loss", "trouter_subcategory", "trouter_domain"} == \
        set(cfg.routing.routers)
    assert list(cfg.routing.star) == ["routerdc", "metric_router", "knn"]


def test_the_authors_trouter():
    rc = compose_with("experiment=paper").router
    assert (rc.temperature, rc.lr, rc.batch_size, rc.max_epochs, rc.patience) == \
        (0.07, 1e-4, 64, 20, 3)
    assert (rc.hidden, list(rc.match_hidden), list(rc.head_hidden)) == (256, [256, 256], [256, 256])
    assert rc.branch_to_embedding and rc.head_sigmoid and rc.match_dropout == 0.1
    assert rc.task_weight == 1.0
    from trouter.route.net import TRouterNet
    from trouter.routers.trouter import net_settings

    net = TRouterNet(384, 6, **net_settings(rc, 384))
    assert sum(p.numel() for p in net.parameters()) == 2_632_717  # "about 2.6M"
    # variational_prompt_tuner.py MetricDecoder: Linear, ReLU, Dropout(0.1), twice, then Linear
    head = net.performance.parts[0]
    assert [type(m).__name__ for m in head] == ["Linear", "ReLU", "Dropout", "Linear", "ReLU",
                                                "Dropout", "Linear"]
    assert all(m.p == 0.1 for m in head if isinstance(m, torch.nn.Dropout))


@pytest.mark.parametrize("judge", options("judge"))
def test_every_judge_is_one_override(judge):
    assert compose_with(f"judge={judge}").judge.key == judge


def test_roles_can_differ():
    cfg = compose_with("experiment=demo", "roles.evaluator=${synthesizer}",
                       "+roles.judge=null")
    assert cfg.roles.generator.key == "qwen2.5-coder-1.5b-local"


def cli(module, *overrides, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", f"trouter.cli.{module}", *overrides],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("override,needle", [
    ("taxonomy.patience=0", "patience"),
    ("taxonomy.max_domains=0", "max_domains"),
    ("taxonomy.children.domain.min=0", "taxonomy.children.domain"),
])
def test_bad_taxonomy_config_fails_before_any_call(tmp_path, override, needle):
    proc = cli("expand_taxonomy", "experiment=smoke", f"paths.results_dir={tmp_path}", override)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert not (tmp_path / "smoke" / "expand_taxonomy" / "nodes.csv").exists()


def test_missing_input_names_the_file(tmp_path):
    proc = cli("generate_qa", "experiment=smoke", f"paths.results_dir={tmp_path}")
    assert proc.returncode == 2
    assert "nodes.csv: file not found" in proc.stderr


def test_bad_dedup_threshold(tmp_path):
    proc = cli("generate_qa", "experiment=smoke", f"paths.results_dir={tmp_path}",
               "dedup.threshold=1.5")
    assert proc.returncode == 2 and "dedup.threshold" in proc.stderr


def test_unknown_experiment_in_snakemake(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--config",
                           "experiment=nope"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0 and "conf/experiment/nope.yaml" in proc.stderr + proc.stdout


def test_snakemake_schema_rejects_bad_config():
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--config",
                           "bogus_key=1"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0 and "bogus_key" in proc.stderr + proc.stdout


def test_conda_environment_matches_pyproject():
    import re
    import tomllib

    import yaml

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    names = {re.split(r"[<>=\[ ]", p)[0].lower() for p in pip if not p.startswith("-")}
    missing = [d for d in deps if re.split(r"[<>=\[ ]", d)[0].lower() not in names]
    assert not missing, f"environment.yml lacks {missing}"
    assert "torch==2.13.0" in pip
