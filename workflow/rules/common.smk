# The plans of this invocation (one run, or every point of a sweep) and the helpers the rules
# share. Every path comes from trouter.layout; work shared between points is one job.
import json
import re
import shlex
from pathlib import Path

from trouter import layout as L
from trouter.sweep import cached_plans

PLANS = cached_plans(Path(".snakemake", "trouter"), experiment=config["experiment"],
                     results_dir=config["results_dir"], overrides=list(config["overrides"]),
                     name=config.get("name") or "", sweep=config.get("sweep") or "",
                     multirun=list(config.get("multirun") or []))
SWEEP = bool(config.get("sweep"))
STORE = str(PLANS[0].layout.store)
RECORDED = PLANS[0].layout.recorded
if any(p.layout.recorded != RECORDED for p in PLANS):
    raise ValueError("a sweep cannot mix recorded and live points")

# folder of a keyed stage -> (the first plan that uses it, its router job or None)
OWNER = {}
for _plan in PLANS:
    for _folder, _ in _plan.folders().values():
        OWNER.setdefault(str(_folder), (_plan, None))
    for _job in _plan.routers:
        OWNER[str(_job.folder)] = (_plan, _job)
RUNS = {str(p.layout.run): p for p in PLANS}


def plan_identity(manifest):
    """What makes a point's plan: its overrides, keyed folders and router jobs."""
    return L.digest({k: manifest.get(k) for k in ("overrides", "folders", "routers")})


def drop_stale_manifests():
    """A point whose plan changed (routers, protocols, folders) is planned again: a manifest
    that differs from this invocation's plan is removed, so the rule plan runs before evaluate
    (params alone do not rerun a job under this workflow's rerun-triggers)."""
    for plan in PLANS:
        path = plan.layout.point_file(L.MANIFEST)
        if path.is_file() and plan_identity(json.loads(path.read_text())) != plan_identity(
                plan.manifest()):
            path.unlink()


drop_stale_manifests()


wildcard_constraints:
    key=L.KEY_PATTERN,
    dataset="[A-Za-z0-9_]+",
    model="[A-Za-z0-9_.-]+",
    router="[A-Za-z0-9_]+",
    protocol="cold_start|in_domain|leave_one_task_out",
    run="|".join(re.escape(r) for r in RUNS),


def check_budget_before_start():
    """Refuse to start when the estimated cost exceeds the config's budget (trouter estimate)."""
    if PLANS[0].cfg.budget:
        from trouter.estimate import check_budget, estimate

        check_budget(estimate(PLANS, PLANS[0].cfg.estimate), PLANS[0].cfg.budget)


def keyed(stage, *parts):
    """A keyed stage's output pattern: <store>/<stage>/<parts...>/{key}/<file>."""
    return str(Path(STORE, stage, *parts, "{key}"))


def owner(stage, wildcards, *parts):
    """The plan (and router job) whose settings a keyed folder holds."""
    folder = str(Path(STORE, stage, *parts, wildcards.key))
    if folder not in OWNER:
        raise ValueError(f"{folder}: no point of this run uses it")
    return OWNER[folder]


def quoted(args):
    return " ".join(shlex.quote(a) for a in args)


def stage_args(stage, *parts):
    """The Hydra overrides of the job that fills a keyed folder: its owner's."""

    def args(wildcards):
        plan, job = owner(stage, wildcards, *[getattr(wildcards, p) for p in parts])
        return quoted(plan.overrides + (job.overrides() if job else []))

    return args


def plan_of(wildcards):
    return RUNS[wildcards.run]


def labels_of(plan):
    """The label table (collected or imported) a plan's routing stages read."""
    return plan.layout.collected() / L.LABELS


def prepare_inputs(wildcards):
    """The synthetic dataset is built from the synthesis outputs; benchmarks need nothing."""
    if wildcards.dataset != "synthetic":
        return []
    lay = owner("data", wildcards, wildcards.dataset)[0].layout
    return [lay.dedup() / L.QA, lay.taxonomy() / L.NODES]


def local_label_job(wildcards):
    """Whether a label job runs a local model (its candidate, or the judge of synthetic QA)."""
    plan = owner("labels", wildcards, wildcards.dataset, wildcards.model)[0]
    judge = plan.cfg.judge if wildcards.dataset == L.SYNTHETIC else {}
    return plan.layout.card(wildcards.model).get("local") is not None or (
        judge.get("local") is not None)


def label_servers(wildcards):
    """llm_server units of a label job: its local servers' threads, none for an endpoint."""
    if not local_label_job(wildcards):
        return 0
    return int(owner("labels", wildcards, wildcards.dataset, wildcards.model)[0]
               .cfg.llm.server_threads)


def label_threads(wildcards):
    """A local model's server threads; one for a remote endpoint (the client waits on I/O)."""
    return label_servers(wildcards) or 1


def server_threads(stage):
    """llm_server units of a job that may run a local server: the threads it gives it."""
    return lambda wc: int(owner(stage, wc)[0].cfg.llm.server_threads)


def label_inputs(wildcards):
    lay = owner("labels", wildcards, wildcards.dataset, wildcards.model)[0].layout
    return lay.data(wildcards.dataset) / L.QUERIES_JSONL


def collected_inputs(wildcards):
    lay = owner("collect_labels", wildcards)[0].layout
    return [lay.labels(d, m) / L.LABELS for d in lay.datasets() for m in lay.candidates()]


def embed_inputs(wildcards):
    """The labels, the query records and the task types (none for recorded data without a
    taxonomy file)."""
    plan = owner("embed_queries", wildcards)[0]
    lay = plan.layout
    tasks = [] if lay.recorded and not plan.cfg.routing.taxonomy else [lay.taxonomy_nodes()]
    return [labels_of(plan), *lay.query_files(), *tasks]


def assign_inputs(wildcards):
    plan = owner("assign_tasks", wildcards)[0]
    embed = plan.layout.embed()
    return [labels_of(plan), embed / L.QUERIES_NPZ, embed / L.TASKS_NPZ]


def router_inputs(wildcards):
    plan = owner("train_router", wildcards, wildcards.router, wildcards.protocol)[0]
    embed = plan.layout.embed()
    return [labels_of(plan), embed / L.QUERIES_NPZ, embed / L.TASKS_NPZ,
            plan.layout.assign() / L.ASSIGNMENTS]


def evaluate_inputs(wildcards):
    plan = plan_of(wildcards)
    return [labels_of(plan), f"{wildcards.run}/{L.MANIFEST}",
            *[j.folder / L.PREDICTIONS for j in plan.routers]]


def synthesis_outputs():
    return [] if RECORDED else [str(p.layout.dedup() / L.QA) for p in PLANS]


def labeling_outputs():
    return [str(p.layout.collected() / L.LABEL_SUMMARY) for p in PLANS]


def report_outputs():
    """Every point's report and provenance (a missing file makes its job run again), and the
    sweep's comparison."""
    out = [str(Path(run, L.REPORT, f)) for run in RUNS for f in L.REPORT_FILES]
    out += [str(Path(run, L.PROVENANCE)) for run in RUNS]
    if SWEEP:
        out += [str(L.compare_dir(STORE) / f) for f in L.COMPARE_FILES]
    return out
