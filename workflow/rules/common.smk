# Helpers shared by the rules: run folder and the Hydra overrides of every stage.
import shlex
from pathlib import Path

from hydra import compose, initialize_config_dir

from trouter.route.protocols import routed_methods, star_name


def experiment_conf_exists(name):
    return Path("conf", "experiment", f"{name}.yaml").is_file()


if not experiment_conf_exists(config["experiment"]):
    raise ValueError(
        f"workflow/config.yaml: experiment={config['experiment']!r} has no "
        f"conf/experiment/{config['experiment']}.yaml"
    )

RUN_NAME = config.get("name") or config["experiment"]
RUN_DIR = f"{config['results_dir']}/{RUN_NAME}"


def run_path(*parts):
    return str(Path(RUN_DIR, *parts))


def hydra_overrides():
    """Overrides for every entry point, quoted for the shell."""
    args = [
        f"experiment={config['experiment']}",
        f"name={RUN_NAME}",
        f"paths.results_dir={config['results_dir']}",
        *config["overrides"],
    ]
    return " ".join(shlex.quote(a) for a in args)


def hydra_config():
    """The composed Hydra config of this run: the one source of the pool and the datasets."""
    args = [f"experiment={config['experiment']}", *config["overrides"]]
    with initialize_config_dir(config_dir=str(Path("conf").resolve()), version_base="1.3"):
        return compose(config_name="config", overrides=args)


HCFG = hydra_config()
# A recorded run imports routing outcomes instead of synthesising and labeling.
RECORDED = HCFG.recorded is not None
CANDIDATES = [] if RECORDED else list(HCFG.pool.candidates)
DATASETS = [] if RECORDED else ["synthetic", *HCFG.data.benchmarks]
ROUTERS = list(HCFG.routing.routers)
STAR = list(HCFG.routing.star)
PROTOCOLS = list(HCFG.routing.protocols)
for _key in CANDIDATES:
    if not Path("conf", "model", f"{_key}.yaml").is_file():
        raise ValueError(f"pool.candidates: {_key!r} has no model card conf/model/{_key}.yaml")
for _key in ROUTERS + STAR:
    if not Path("conf", "router", f"{_key}.yaml").is_file():
        raise ValueError(f"routing.routers/star: {_key!r} has no config conf/router/{_key}.yaml")
for _key in PROTOCOLS:
    if _key not in ("cold_start", "in_domain", "leave_one_task_out"):
        raise ValueError(f"routing.protocols: unknown protocol {_key!r}")


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    model="[A-Za-z0-9_.-]+",
    router="[A-Za-z0-9_]+",
    protocol="cold_start|in_domain|leave_one_task_out",


def synthesis_outputs():
    if RECORDED:
        return []
    return [
        run_path("expand_taxonomy", "nodes.csv"),
        run_path("dedup_qa", "qa.csv"),
    ]


def prepare_inputs(wildcards):
    """The synthetic dataset is built from the synthesis outputs; benchmarks need nothing."""
    return synthesis_outputs() if wildcards.dataset == "synthetic" else []


def label_outputs():
    return [
        run_path("labels", d, m, "labels.csv") for d in DATASETS for m in CANDIDATES
    ]


def labeling_outputs():
    return [run_path("labels", f) for f in ("summary.csv", "pool.json")]


def labels_table():
    """The collected (or imported) label table every routing stage reads."""
    return run_path("labels", "labels.csv")


def query_files():
    """The query records embed_queries reads."""
    if RECORDED:
        return [run_path("labels", "queries.jsonl")]
    return [run_path("data", f"{d}.jsonl") for d in DATASETS]


def taxonomy_nodes():
    """Task types: routing.taxonomy when given, else this run's taxonomy."""
    return HCFG.routing.taxonomy or run_path("expand_taxonomy", "nodes.csv")


def router_jobs():
    """(method, protocol) of every train_router job: each router under each protocol, and the
    star variants under cold_start."""
    return [(m, p) for p in PROTOCOLS for m in routed_methods(HCFG.routing, p)]


def router_args(wildcards):
    """The train_router overrides of a method: its router config, and variant star for a star
    variant."""
    for r in STAR:
        if wildcards.router == star_name(r):
            return f"router={r} routing.variant=star"
    return f"router={wildcards.router}"


def router_predictions():
    return [run_path("train_router", m, p, "predictions.csv") for m, p in router_jobs()]


def router_summaries():
    return [run_path("train_router", m, p, "summary.json") for m, p in router_jobs()]


def report_outputs():
    """Every file of the report, so that a run folder from an older version is brought up to
    date (a missing file makes its job run again)."""
    files = ["utility.csv", "utility_per_benchmark.csv", "aiq.csv", "task_recognition.csv",
             "table.md", "cost_quality.png"]
    return [run_path("report", f) for f in files]
