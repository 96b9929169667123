"""Every output path and file name, in one place; the Snakemake rules and the stages both use it.

Work that several runs or sweep points share lives in the store (`paths.store_dir`, the run folder
of a single run, the sweep's folder in a sweep) under `<stage>/<key>/`, where the key is a digest
of exactly the settings and upstream keys the stage's outputs depend on: the taxonomy depends on
the synthesizer and the taxonomy settings, not on the router; benchmark labels on the benchmark,
the candidate and the labeling settings, not on the synthesizer. Two points that agree on those
settings name the same folder, so the work is done once. What belongs to one point (its resolved
config, its manifest, evaluate, report, provenance) lives in its own run folder."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf

from trouter.catalog import card_settings
from trouter.data import SYNTHETIC
from trouter.data.files import sha256_of
from trouter.route.protocols import router_seeds
from trouter.route.utility import sweep_settings

# Bump a stage's number when its outputs change for the same settings: its folders get new keys.
VERSIONS = {"expand_taxonomy": 1, "generate_qa": 1, "dedup_qa": 1, "data": 1, "labels": 1,
            "collect_labels": 1, "import_routing": 1, "embed_queries": 4, "assign_tasks": 1,
            "train_router": 1}

# File names, per stage.
NODES, TAXONOMY, ROUNDS = "nodes.csv", "taxonomy.json", "rounds.jsonl"
GENERATED, QA_REPORT = "generated.jsonl", "report.csv"
QA, DROPPED = "qa.csv", "dropped.csv"
QUERIES_JSONL = "queries.jsonl"
LABELS, POOL, COST_NORM = "labels.csv", "pool.json", "cost_norm.json"
LABEL_SUMMARY, LABEL_TABLE, IMPORT = "summary.csv", "summary.md", "import.json"
QUERIES_NPZ, TASKS_NPZ = "queries.npz", "task_types.npz"
ASSIGNMENTS = "assignments.csv"
PREDICTIONS, ESTIMATES = "predictions.csv", "estimates.csv"
SUMMARY, LOG = "summary.json", "log.txt"
CONFIG, MANIFEST, PROVENANCE = "config.yaml", "point.json", "provenance.json"
EVALUATE_FILES = ("choices.csv", "utility.csv", "utility_per_benchmark.csv", "points.csv",
                  "comparisons.csv", "gap.csv", "aiq.csv", "shares.csv", "seeds.csv")
EVALUATE, REPORT, COMPARE = "evaluate", "report", "compare"
UTILITY, POINTS_CSV = "utility.csv", "points.csv"
COMPARE_FILES = (POINTS_CSV, UTILITY, "curves.csv", "table.md", "synthesizers.png", "curves.png")
REPORT_FILES = ("utility.csv", "utility_per_benchmark.csv", "aiq.csv", "task_recognition.csv",
                "table.md", "cost_quality.png")
KEY_PATTERN = "[0-9a-f]{12}"


def digest(obj) -> str:
    """12 hex digits of the SHA-256 of `obj` as canonical JSON."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def plain(value):
    """A config node as plain Python (resolved), anything else as it is."""
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


class Layout:
    """The folders of one composed config. Keyed stages: `<store>/<stage>/[...]/<key>/`; the
    key's settings are in `material(...)` (recorded in the point's manifest)."""

    def __init__(self, cfg: DictConfig, card=None, upstream: Layout | None = None):
        self.cfg = cfg
        self.store = Path(cfg.paths.store_dir)
        self.run = Path(cfg.paths.run_dir)
        # name -> model card settings (the candidates of the pool); default: conf/model/<name>.yaml
        self.card = card or card_settings
        # settings already worked out by a layout that differs only in the router
        self._materials: dict[tuple, dict] = {
            k: v for k, v in (upstream._materials if upstream else {}).items()
            if k[0] != "train_router"}

    def _get(self, key: str):
        return plain(OmegaConf.select(self.cfg, key))

    def _folder(self, stage: str, material: dict, *parts: str) -> Path:
        return self.store.joinpath(stage, *parts, digest(material))

    # --- settings each keyed stage depends on --------------------------------------------------
    def material(self, stage: str, *args) -> dict:
        if (stage, *args) not in self._materials:
            self._materials[(stage, *args)] = self._material(stage, *args)
        return self._materials[(stage, *args)]

    def _material(self, stage: str, *args) -> dict:
        g = self._get
        base = {"stage": stage, "version": VERSIONS[stage]}
        if stage == "expand_taxonomy":
            out = {"generator": g("roles.generator"), "evaluator": g("roles.evaluator"),
                   "taxonomy": g("taxonomy"), "seed": g("seed"), "reasks": g("llm.max_reasks")}
        elif stage == "generate_qa":
            out = {"taxonomy": self.key("expand_taxonomy"), "writer": g("roles.qa_writer"),
                   "qa": g("qa"), "seed": g("seed"), "reasks": g("llm.max_reasks"),
                   "dedup": [g("dedup.threshold"), g("dedup.model_path")]}
        elif stage == "dedup_qa":
            out = {"qa": self.key("generate_qa"), "threshold": g("dedup.threshold"),
                   "model_path": g("dedup.model_path")}
        elif stage == "data":
            (dataset,) = args
            if dataset == SYNTHETIC:
                out = {"qa": self.key("dedup_qa"), "sizes": g("data.synthetic")}
            else:
                out = {"benchmark": g(f"benchmarks.{dataset}"), "limit": g("data.limit")}
            out |= {"dataset": dataset, "split_seed": g("data.split_seed")}
        elif stage == "labels":
            dataset, model = args
            out = {"data": self.key("data", dataset), "candidate": self.card(model),
                   "labeling": g("labeling"), "reasks": g("llm.max_reasks"),
                   "judge": g("judge") if dataset == SYNTHETIC else None}
        elif stage == "collect_labels":
            out = {"labels": [self.key("labels", d, m) for d in self.datasets()
                              for m in self.candidates()],
                   "pool": g("pool"), "cost_norm": g("labeling.cost_norm")}
        elif stage == "import_routing":
            out = {"recorded": g("recorded"), "seed": g("seed")}
        elif stage == "embed_queries":
            given = g("routing.taxonomy")
            tasks = ({"file": given, "sha256": sha256_of(Path(given))} if given
                     else None if self.recorded else self.key("expand_taxonomy"))
            out = {"labels": self.key(self.labels_stage), "tasks": tasks,
                   "embed": g("routing.embed"), "model_path": g("dedup.model_path")}
        elif stage == "assign_tasks":
            llm = g("routing.task_prior") == "llm"
            out = {"embed": self.key("embed_queries"), "prior": g("routing.task_prior"),
                   "labeller": g("routing.labeller") if llm else None,
                   "max_chars": g("routing.labeller_max_chars") if llm else None,
                   "reasks": g("llm.max_reasks") if llm else None,
                   "seed": g("seed") if llm else None}
            if llm and g("routing.labeller_prompt") != "ours":
                out["prompt"] = g("routing.labeller_prompt")
        elif stage == "train_router":
            (protocol,) = args
            router = g("router")
            out = {"labels": self.key(self.labels_stage), "assign": self.key("assign_tasks"),
                   "router": router, "variant": g("routing.variant"), "protocol": protocol,
                   "settings": self.settings() if router.get("uses_weights") else None}
            seeds = router_seeds(self.cfg.routing, self.cfg.router, protocol)
            out |= {"seed": seeds[0]} if len(seeds) == 1 else {"seeds": seeds}
        else:
            raise KeyError(f"layout: no keyed stage {stage!r}")
        return base | out

    def key(self, stage: str, *args) -> str:
        return digest(self.material(stage, *args))

    # --- what the config selects -----------------------------------------------------------
    @property
    def recorded(self) -> bool:
        return self.cfg.recorded is not None

    @property
    def labels_stage(self) -> str:
        return "import_routing" if self.recorded else "collect_labels"

    def datasets(self) -> list[str]:
        return [] if self.recorded else [SYNTHETIC, *map(str, self.cfg.data.benchmarks)]

    def candidates(self) -> list[str]:
        return [] if self.recorded else list(map(str, self.cfg.pool.candidates))

    def settings(self) -> list[list[float]]:
        """The utility settings every router is asked for (evaluation.sweep_points and
        evaluation.weights)."""
        ev = self.cfg.evaluation
        return [list(s) for s in sweep_settings(int(ev.sweep_points), plain(ev.get("weights")))]

    # --- keyed folders -------------------------------------------------------------------------
    def taxonomy(self) -> Path:
        return self._folder("expand_taxonomy", self.material("expand_taxonomy"))

    def taxonomy_nodes(self) -> Path:
        """The task types' node table: routing.taxonomy, else this run's taxonomy."""
        given = self.cfg.routing.taxonomy
        return Path(given) if given else self.taxonomy() / NODES

    def qa(self) -> Path:
        return self._folder("generate_qa", self.material("generate_qa"))

    def dedup(self) -> Path:
        return self._folder("dedup_qa", self.material("dedup_qa"))

    def data(self, dataset: str) -> Path:
        return self._folder("data", self.material("data", dataset), dataset)

    def labels(self, dataset: str, model: str) -> Path:
        return self._folder("labels", self.material("labels", dataset, model), dataset, model)

    def collected(self) -> Path:
        """The one label table every routing stage reads (collected, or imported)."""
        return self._folder(self.labels_stage, self.material(self.labels_stage))

    def query_files(self) -> list[Path]:
        """The query records embed_queries reads."""
        if self.recorded:
            return [self.collected() / QUERIES_JSONL]
        return [self.data(d) / QUERIES_JSONL for d in self.datasets()]

    def embed(self) -> Path:
        return self._folder("embed_queries", self.material("embed_queries"))

    def assign(self) -> Path:
        return self._folder("assign_tasks", self.material("assign_tasks"))

    def router(self, method: str, protocol: str) -> Path:
        """train_router's folder of this config's router (cfg.router, routing.variant)."""
        return self._folder("train_router", self.material("train_router", protocol),
                            method, protocol)

    # --- the point's own folder --------------------------------------------------------------
    def point_file(self, name: str) -> Path:
        return self.run / name

    def evaluate(self, run: str | None = None) -> Path:
        """This point's evaluate folder, or that of another single run named `run`."""
        return (Path(self.cfg.paths.results_dir) / run if run else self.run) / EVALUATE

    def report(self) -> Path:
        return self.run / REPORT


def compare_dir(store: Path) -> Path:
    """A sweep's comparison of its points."""
    return Path(store) / COMPARE
