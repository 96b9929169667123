"""Sweeps: one DAG in which work shared between points is done once, folders that never collide,
and the fast router configs of a plan checked against Hydra itself."""

import re
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir

from tests.test_config import CONF
from tests.workflow_run import ROOT
from trouter.errors import TrouterError
from trouter.estimate import estimate
from trouter.layout import Layout
from trouter.plan import job_config, make_plan
from trouter.sweep import plans, sweep_points

SYNTHS = ["smollm2-135m-local", "qwen2.5-coder-0.5b-local"]


def job_counts(*config: str) -> dict[str, int]:
    """Snakemake's dry-run job counts for a --config."""
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--config", *config],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = proc.stdout.split("Job stats:")[1].split("\n\n")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_a_2x2_sweep_shares_work_and_llm_calls(tmp_path, figures):
    sweep = job_counts("sweep=smoke", f"results_dir={tmp_path}")
    # the same four points run one by one, each its own run
    alone: dict[str, int] = {}
    for synth in SYNTHS:
        for router in ("trouter", "metric_router"):
            star = "[metric_router]" if router == "metric_router" else "[]"
            overrides = f'overrides=["synthesizer={synth}","routing.routers=[{router}]",' \
                        f'"routing.star={star}"]'
            counts = job_counts("experiment=smoke", f"name={synth}-{router}",
                                f"results_dir={tmp_path}", overrides)
            for rule, n in counts.items():
                alone[rule] = alone.get(rule, 0) + n
    # the taxonomy depends on the synthesizer, not on the router
    assert sweep["expand_taxonomy"] == 2 and alone["expand_taxonomy"] == 4
    # benchmark labels depend on the pool, not on the synthesizer: 5 benchmarks x 2 candidates
    # once, plus the synthetic QA of each synthesizer
    assert sweep["label_candidates"] == 10 + 2 * 2 and alone["label_candidates"] == 4 * 12
    assert sweep["prepare_data"] == 5 + 2
    # every point is evaluated and reported; one comparison
    assert sweep["plan"] == sweep["evaluate"] == sweep["report"] == 4 and sweep["compare"] == 1
    assert sweep["total"] < alone["total"]
    figures(f"2x2 sweep: {sweep['total']} jobs; its points one by one: {alone['total']} jobs")

    points = plans("smoke", str(tmp_path), [], sweep="smoke")
    shared = estimate(points, points[0].cfg.estimate)["calls"].sum()
    one_by_one = sum(estimate([p], p.cfg.estimate)["calls"].sum() for p in points)
    assert shared < one_by_one
    figures(f"LLM calls: {shared} in the sweep, {one_by_one} one by one")


def test_sweep_points_never_collide_and_weights_only_reevaluate(tmp_path):
    points = plans("smoke", str(tmp_path), [], sweep="weights",
                   multirun=["evaluation.weights=[[0.33,0.67]],[[0.62,0.38]]", "seed=1,2"])
    assert len(points) == 4 and len({p.layout.run for p in points}) == 4
    assert all(p.layout.store == tmp_path / "weights" for p in points)
    by_seed = {}
    for p in points:
        by_seed.setdefault(p.cfg.seed, []).append(p)
    for seed, (a, b) in by_seed.items():
        ja = {(j.method, j.protocol): j for j in a.routers}
        jb = {(j.method, j.protocol): j for j in b.routers}
        for key, job in ja.items():
            # a router that estimates is trained once; one whose choices depend on the
            # weights (Adaptive LLM, PromptLLM, RouterDC) again
            assert (job.folder == jb[key].folder) == (not job.uses_weights), (seed, key)
        assert a.layout.taxonomy() == b.layout.taxonomy()
    seeds = sorted(by_seed)
    assert by_seed[seeds[0]][0].layout.taxonomy() != by_seed[seeds[1]][0].layout.taxonomy()


def test_sweep_syntax_and_names():
    got = sweep_points(["experiment=smoke"], ["synthesizer=a,b", "seed=range(1,3)",
                                              "router.lr=0.001"])
    assert [name for name, _ in got] == [
        "synthesizer-a__seed-1__router.lr-0.001", "synthesizer-a__seed-2__router.lr-0.001",
        "synthesizer-b__seed-1__router.lr-0.001", "synthesizer-b__seed-2__router.lr-0.001"]
    assert got[0][1] == ["experiment=smoke", "synthesizer=a", "seed=1", "router.lr=0.001"]
    with pytest.raises(TrouterError, match="no file"):
        plans("smoke", "results", [], sweep="nope")
    with pytest.raises(TrouterError, match="cannot parse"):
        sweep_points([], ["synthesizer=a,,b"])


@pytest.mark.parametrize("router", sorted(p.stem for p in (CONF / "router").glob("*.yaml")))
def test_fast_router_configs_match_hydra(router):
    """A plan builds each router's config from the point's config; the stage composes it with
    Hydra: both must give the same config (the same keyed folder)."""
    overrides = ["experiment=smoke", "++router.batch_size=16", "seed=7"]
    job = [f"router={router}", "routing.protocol=cold_start"]
    plan = make_plan("", overrides)
    fast = job_config(plan.cfg, overrides, job)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        slow = compose("config", overrides=[*overrides, *job])
    assert fast == slow
    assert Layout(fast).router(router, "cold_start") == Layout(slow).router(router, "cold_start")


def test_router_jobs_claim_their_threads():
    """One thread per router job (two run side by side on 2 cores); RouterDC's fine-tuned encoder
    two; PromptLLM on a local judge its server's threads, on an API the default."""
    def threads(*overrides):
        plan = make_plan("", ["experiment=demo", *overrides])
        return {(j.method, j.protocol): j.threads for j in plan.routers}

    demo = threads()
    assert demo[("routerdc", "in_domain")] == demo[("routerdc_star", "cold_start")] == 2
    assert demo[("prompt_llm", "cold_start")] == 2  # the local Qwen judge, server_threads 2
    assert demo[("trouter", "cold_start")] == demo[("knn_star", "cold_start")] == 1
    assert {v for k, v in demo.items() if not k[0].startswith(("routerdc", "prompt"))} == {1}
    many = threads("routing.threads=3", "llm.server_threads=4", "judge=gpt-4.1-nano")
    assert many[("trouter", "in_domain")] == 3 and many[("routerdc", "in_domain")] == 2
    assert many[("prompt_llm", "cold_start")] == 3  # an API judge: no local server


def test_plans_are_kept_for_the_next_process(tmp_path):
    """Every Slurm job parses the workflow again: its plans come from the pickle, unless a file
    they read changed."""
    from trouter.sweep import cached_plans

    taxonomy = tmp_path / "tasks.csv"
    taxonomy.write_text((CONF / "taxonomies" / "llmrouter.csv").read_text())
    args = {"experiment": "llmrouter", "results_dir": str(tmp_path),
            "overrides": [f"routing.taxonomy={taxonomy}"]}
    first = cached_plans(tmp_path / "cache", **args)
    (kept,) = list((tmp_path / "cache").glob("plans-*.pkl"))
    again = cached_plans(tmp_path / "cache", **args)
    assert [p.manifest() for p in again] == [p.manifest() for p in first]
    taxonomy.write_text(taxonomy.read_text() + "\n")
    changed = cached_plans(tmp_path / "cache", **args)
    assert changed[0].layout.embed() != first[0].layout.embed()
    assert kept.is_file()  # written anew for the changed file
