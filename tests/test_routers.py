"""The router registry and its configs, the choice contract, the sweep and AIQ."""

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from tests.test_config import CONF
from trouter.errors import ConfigError
from trouter.route.aiq import aiq, aiq_table, upper_hull
from trouter.route.utility import SETTINGS, sweep_settings
from trouter.routers import REGISTRY, RouterContext, RoutingTable, make_router, router_class
from trouter.routers.selection import fit_selected

ROUTER_CONFS = sorted(p.stem for p in (CONF / "router").glob("*.yaml"))


TEXTS = ("What is {} plus {}?", "Write a short poem about the number {} and the colour {}.")


def tiny_table(rng, n, tasks=("tA", "tB")):
    """Queries near one of two task centres (texts: sums for tA, poems for tB); model 1 is needed
    on tB only."""
    centres = np.eye(2, 8)
    which = rng.integers(0, 2, n)
    emb = centres[which] + rng.normal(0, 0.05, (n, 8))
    score = np.stack([which == 0, np.ones(n, bool)], 1).astype(float)
    cost = np.tile([1e-6, 5e-6], (n, 1))
    return RoutingTable(query_ids=[f"q{i}" for i in range(n)], datasets=np.array(["d"] * n),
                        embeddings=emb.astype(np.float32), score=score, cost=cost,
                        cost_norm=np.tile([0.0, 1.0], (n, 1)),
                        tasks=np.array([tasks[w] for w in which], dtype=object),
                        texts=[TEXTS[w].format(i, 2 * i + 1) for i, w in enumerate(which)])


def test_registry_keys_are_the_config_stems():
    assert sorted(REGISTRY) == ROUTER_CONFS


# Routers that ask an LLM are tested with a scripted server (tests/test_prompt_llm.py).
TRAINABLE = [n for n in ROUTER_CONFS if n != "prompt_llm"]
# Routers that do not look at the query.
QUERY_BLIND = ("adaptive_llm", "task_mean")  # one dataset in the tiny table: no task to look up
# The authors' TRouter settings (lr 1e-4, at most 20 epochs) barely move on 48 queries (README,
# "The two TRouter variants"), nor does TRouter without its task loss in 60 epochs (q(t|q) learns
# only through the heads); the test checks these networks with settings that do.
# RouterDC's mask (a negative scoring above 0.5 is left out) leaves two candidates that both
# answer tA nothing to contrast: with the mask off the frozen variant must learn the table too.
# RouterDC fine-tuning MiniLM: short inputs, few epochs, a larger step (also test_routerdc.py).
ROUTERDC_FAST = ["router.encoder.max_tokens=16", "router.max_epochs=3", "router.lr=1e-3"]
TINY = {"trouter_paper": ["router.lr=3e-3"],
        "routerdc": ROUTERDC_FAST,
        "trouter_no_task_loss": ["router.grid.lr=[0.01]", "router.patience=30"],
        "routerdc_frozen": ["router.mask_negatives_above=1.0"],
        "trouter_paper_subcategory": ["router.lr=3e-3"], "trouter_paper_domain": ["router.lr=3e-3"],
        "trouter_paper_no_task_loss": ["router.lr=3e-3", "router.max_epochs=200",
                                       "router.patience=60"]}


def tiny_context(tmp_path, name):
    return RouterContext(models=["small", "big"], task_ids=["tA", "tB"],
                         task_embeddings=np.eye(2, 8, dtype=np.float32), seed=0, threads=1,
                         out_dir=tmp_path, run_name=f"t-{name}-in_domain-all")


def compose_router(name, *overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[f"router={name}", *overrides]).router


@pytest.mark.parametrize("name", TRAINABLE)
def test_every_router_config_learns_a_tiny_table(name, tmp_path):
    """Each router, as configured, makes the known right choice: under performance-first the big
    model on tB only, under cost-first the small model everywhere."""
    rc = compose_router(name, *TINY.get(name, []))
    assert rc.name == name and router_class(name)  # stem = registry key = method name
    rng = np.random.default_rng(0)
    train, val, test = tiny_table(rng, 48), tiny_table(rng, 16), tiny_table(rng, 20)
    router, fitted = fit_selected(rc, tiny_context(tmp_path, name), train, val)
    assert isinstance(fitted, dict)
    settings = sweep_settings(11)
    p = router.choose(test, settings)
    assert p.shape == (11, 20, 2) and np.allclose(p.sum(-1), 1.0) and (p >= 0).all()
    if name in QUERY_BLIND:
        return
    picks = p.argmax(-1)
    want = (test.tasks == "tB").astype(int)
    assert list(picks[settings.index(SETTINGS["perf_first"])]) == list(want)
    assert not picks[settings.index(SETTINGS["cost_first"])].any()


def test_a_grid_is_searched_on_validation_and_recorded(tmp_path):
    rc = compose_router("metric_router", "++router.grid={hidden: [4, 16], lr: [0.01]}",
                        "router.max_epochs=30")
    rng = np.random.default_rng(0)
    train, val = tiny_table(rng, 48), tiny_table(rng, 16)
    router, fitted = fit_selected(rc, tiny_context(tmp_path, "metric_router"), train, val)
    tried = fitted["selection"]["tried"]
    assert [t["hidden"] for t in tried] == [4, 16] and fitted["selection"]["chosen_on"]
    best = min(tried, key=lambda t: t["val_loss"])
    assert fitted["selection"]["chosen"] == {"hidden": best["hidden"], "lr": 0.01}
    assert router.module.hparams.hidden == best["hidden"]
    assert fitted["val_loss"] == pytest.approx(best["val_loss"], abs=1e-6)
    with pytest.raises(ConfigError, match="hiden"):
        fit_selected(compose_router("metric_router", "+router.grid.hiden=[4]"),
                     tiny_context(tmp_path, "m"), train, val)


def test_adaptive_llm_follows_the_price_order(tmp_path):
    ctx = RouterContext(models=["a", "b", "c"], task_ids=[], task_embeddings=np.zeros((0, 8)),
                        seed=0, threads=1, out_dir=tmp_path, run_name="t")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        rc = compose("config", overrides=["router=adaptive_llm"]).router
    table = tiny_table(np.random.default_rng(0), 5)
    p = make_router(rc, ctx).choose(table, list(SETTINGS.values()))
    assert [int(x) for x in p.argmax(-1)[:, 0]] == [0, 1, 2]


def test_unknown_router_suggests_a_name():
    with pytest.raises(ConfigError, match="did you mean 'trouter'"):
        router_class("trouterr")


def test_sweep_holds_the_named_settings():
    grid = sweep_settings(21)
    assert len(grid) == 21 and grid[0] == (0.0, 1.0) and grid[-1] == (1.0, 0.0)
    assert all(mu in grid for mu in SETTINGS.values())
    with pytest.raises(ConfigError, match="sweep_points=10"):
        sweep_settings(10)


def test_aiq_by_hand():
    pts = np.array([[0.0, 0.2], [0.5, 0.3], [0.25, 0.4], [1.0, 0.6], [0.8, 0.7]])
    # hull (0, .2) -> (.25, .4) -> (.8, .7), then flat to 1: (0.5 * 0.25 * (0.2 + 0.4)) +
    # (0.5 * 0.55 * (0.4 + 0.7)) + 0.2 * 0.7 = 0.075 + 0.3025 + 0.14
    assert upper_hull(pts).tolist() == [[0.0, 0.2], [0.25, 0.4], [0.8, 0.7]]
    assert aiq(pts, 1.0) == pytest.approx(0.5175)
    # costs in other units: only the ratio to max_cost counts
    assert aiq(pts * [4.0, 1.0], 4.0) == pytest.approx(0.5175)
    # one model alone at half the largest cost: nothing below it, flat above it
    assert aiq(np.array([[0.5, 0.8]]), 1.0) == pytest.approx(0.4)
    # a point below the chord is ignored; equal costs keep the best quality
    assert aiq(np.array([[0.0, 0.0], [0.5, 0.1], [1.0, 1.0], [1.0, 0.2]]), 1.0) == \
        pytest.approx(0.5)


def test_aiq_per_benchmark_is_not_the_pooled_aiq():
    # two settings (rows) x one query per benchmark (columns); benchmark B costs 100x A
    datasets = np.array(["A", "B"])
    sweeps = {"x": (np.array([[0.2, 0.5], [0.8, 0.5]]), np.array([[1.0, 100.0], [2.0, 100.0]])),
              "y": (np.array([[0.6, 0.5], [0.6, 0.5]]), np.array([[1.0, 100.0], [1.0, 200.0]]))}
    table = aiq_table("p", sweeps, datasets).set_index(["dataset", "method"])
    # A (max cost 2): x (.5, .2) -> (1, .8): .5 x (.2 + .8) / 2 = .25; y (.5, .6) flat: .3
    # B (max cost 200): x (.5, .5) flat: .25; y (.5, .5) -> (1, .5): .25
    want = {("A", "x"): 0.25, ("A", "y"): 0.3, ("B", "x"): 0.25, ("B", "y"): 0.25,
            ("mean", "x"): 0.25, ("mean", "y"): 0.275}
    assert table["aiq"].to_dict() == pytest.approx(want)
    assert table.loc[("A", "x"), "max_cost"] == 2.0 and table.loc[("B", "x"), "max_cost"] == 200
    assert np.isnan(table.loc[("mean", "x"), "max_cost"]) and set(table["points"]) == {2}
    # pooled (the earlier way): x (50.5, .35) -> (51, .65), y (50.5, .55) -> (100.5, .55), max
    # 100.5: B's costs hide what x pays on A, so x looks better than y
    pooled = {m: aiq(np.column_stack([c.mean(1), s.mean(1)]), 100.5)
              for m, (s, c) in sweeps.items()}
    assert pooled["x"] == pytest.approx((0.5 * 0.5 + 49.5 * 0.65) / 100.5)
    assert pooled["y"] == pytest.approx(50 * 0.55 / 100.5)
    assert pooled["x"] > pooled["y"] and table.loc[("mean", "x"), "aiq"] < \
        table.loc[("mean", "y"), "aiq"]

def label_rows(spec):
    """Label rows from (query, dataset, split) with two models."""
    import pandas as pd

    rows = []
    for q, d, s in spec:
        for j, m in enumerate(["a", "b"]):
            rows.append({"query_id": q, "dataset": d, "split": s, "model": m, "score": 1.0,
                         "cost": 1.0 + j, "cost_norm": float(j)})
    return pd.DataFrame(rows)


def test_protocol_folds():
    from trouter.errors import DataError
    from trouter.route.protocols import folds

    labels = label_rows([(f"{d}{s}{i}", d, s) for d in ("x", "y", "z")
                         for s in ("train", "val", "test") for i in range(2)])
    (fold,) = folds(labels, "in_domain")
    assert fold.train["query_id"].nunique() == 6 and fold.test["query_id"].nunique() == 6
    loto = folds(labels, "leave_one_task_out")
    assert [f.name for f in loto] == ["x", "y", "z"]
    for f in loto:
        assert set(f.test["dataset"]) == {f.name} and f.name not in set(f.train["dataset"])
        assert f.name not in set(f.val["dataset"])
    with pytest.raises(DataError, match="cold_start trains on synthetic data"):
        folds(labels, "cold_start")
    with pytest.raises(ConfigError, match="protocol 'warm'"):
        folds(labels, "warm")


def test_recorded_pool_without_prices_orders_by_mean_training_cost():
    from trouter.route.pool import recorded_pool

    train = label_rows([("q1", "x", "train"), ("q2", "x", "train")])
    train.loc[train["model"] == "a", "cost"] = 5.0  # a is dearer than b here
    pool = recorded_pool(["a", "b"], None, train, "USD", "recorded")
    assert pool["models"] == ["b", "a"] and pool["ordered_by"] == "mean training cost"
    priced = recorded_pool(["a", "b"], {"a": {"input_per_1m": 1, "output_per_1m": 1},
                                        "b": {"input_per_1m": 2, "output_per_1m": 2}},
                           train, "USD", "recorded")
    assert priced["models"] == ["a", "b"] and priced["ordered_by"].startswith("price")


def test_evaluate_refuses_predictions_that_miss_queries(tmp_path):
    import pandas as pd

    from trouter.errors import DataError
    from trouter.io import write_csv
    from trouter.route.choices import router_choices
    from trouter.routers.base import PREDICTION_COLUMNS

    settings = sweep_settings(11)
    rows = [{"fold": "all", "query_id": "q1", "dataset": "x", "mu_r": mu_r, "mu_c": mu_c,
             "model": m, "p": 1.0, "seed": seed} for mu_r, mu_c in settings
            for seed, m in ((1234, "a"), (7, "b"))]
    path = tmp_path / "predictions.csv"
    write_csv(path, pd.DataFrame(rows), PREDICTION_COLUMNS)
    p = router_choices(path, ["q1"], ["a", "b"], settings)  # per training seed
    assert list(p) == [1234, 7] and p[1234].shape == (11, 1, 2)
    assert (p[1234][:, 0, 0] == 1).all() and (p[7][:, 0, 1] == 1).all()
    with pytest.raises(DataError, match="not exactly once"):
        router_choices(path, ["q1", "q2"], ["a", "b"], settings)
    with pytest.raises(DataError, match="not in this evaluation"):
        router_choices(path, ["q2"], ["a", "b"], settings)


def test_coinciding_embeddings_are_reported():
    import pandas as pd

    from trouter.stages.embed_queries import collisions

    texts = pd.DataFrame({"dataset": ["m", "m", "m", "g"],
                          "text": ["shots... Q1", "shots... Q2", "other", "same"]},
                         index=["a", "b", "c", "d"])
    vecs = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    found = collisions(texts, vecs)
    assert found["queries"] == 2 and found["groups"] == 1 and found["per_dataset"] == {"m": 2}
    assert found["examples"] == [["a", "b"]]
    # the same text twice is one query asked twice, not a collision
    same = collisions(texts.assign(text=["t", "t", "other", "same"]), vecs)
    assert same["queries"] == 0


def test_knn_picks_k_on_validation_and_finds_the_needed_model(tmp_path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        rc = compose("config", overrides=["router=knn", "router.k=[1,3,500]"]).router
    rng = np.random.default_rng(1)
    train, val, test = tiny_table(rng, 60), tiny_table(rng, 20), tiny_table(rng, 30)
    train.score[0, 0] = np.nan  # an unscored label is left out of the means
    ctx = RouterContext(models=["small", "big"], task_ids=[], task_embeddings=np.zeros((0, 8)),
                        seed=0, threads=1, out_dir=tmp_path, run_name="t")
    router = make_router(rc, ctx)
    fitted = router.fit(train, val)
    # k = 60 (500 capped) averages both task types and is worst on validation
    assert fitted["k"] in (1, 3) and set(fitted["val_mse_by_k"]) == {"1", "3", "60"}
    assert fitted["val_mse_by_k"]["60"] > fitted["val_mse_by_k"][str(fitted["k"])]
    r_hat, c_hat = router.estimate(test)
    assert np.allclose(c_hat, [0.0, 1.0]) and not np.isnan(r_hat).any()
    # performance-first: the small model where it scores (task A), the big one where only it does
    picks = router.choose(test, [SETTINGS["perf_first"]])[0].argmax(-1)
    assert (picks == (test.tasks == "tB")).all()


def test_ensemble_weights_by_hand():
    from trouter.routers.ensemble import best_weights, simplex

    assert len(simplex(3, 0.1)) == 66 and all(w.sum() == pytest.approx(1) for w in simplex(3, 0.1))
    target = np.array([[1.0, 0.0], [0.0, np.nan]])
    a, b = np.array([[1.0, 0.0], [0.0, 0.5]]), np.array([[0.0, 1.0], [1.0, 0.0]])
    weights, error = best_weights([a, b], target, 0.5)
    assert weights.tolist() == [1.0, 0.0] and error == 0.0  # a is right where the target is known
    # halfway between two estimates that err on opposite sides: the mix is exact
    weights, error = best_weights([target + 0.2, target - 0.2], target, 0.25)
    assert weights.tolist() == [0.5, 0.5] and error == pytest.approx(0.0)


def test_task_means_by_hand(tmp_path):
    from trouter.routers.task_mean import TaskMean

    def table(datasets, score):
        n = len(datasets)
        return RoutingTable(query_ids=[f"q{i}" for i in range(n)], datasets=np.array(datasets),
                            embeddings=np.zeros((n, 4), np.float32), score=np.array(score),
                            cost=np.zeros((n, 2)), cost_norm=np.tile([0.0, 1.0], (n, 1)),
                            tasks=np.array([""] * n, dtype=object))

    router = TaskMean(compose_router("task_mean"), tiny_context(tmp_path, "task_mean"))
    router.fit(table(["a", "a", "b"], [[1.0, 1.0], [0.0, np.nan], [0.0, 1.0]]), None)
    r, c = router.estimate(table(["a", "b", "new"], [[0, 0]] * 3))
    assert r.tolist() == [[0.5, 1.0], [0.0, 1.0], [1 / 3, 1.0]] and (c[:, 1] == 1).all()


def test_knn_within_the_task_shrunk_to_its_mean(tmp_path):
    from trouter.routers.knn import KNN

    def table(datasets, emb, score):
        n = len(datasets)
        return RoutingTable(query_ids=[f"q{i}" for i in range(n)], datasets=np.array(datasets),
                            embeddings=np.array(emb, np.float32), score=np.array(score, float),
                            cost=np.zeros((n, 2)), cost_norm=np.zeros((n, 2)),
                            tasks=np.array([""] * n, dtype=object))

    train = table(["a", "a", "a", "b"], [[1, 0], [0.9, 0.1], [0, 1], [1, 0.05]],
                  [[1, 0], [1, 0], [0, 1], [0, 0]])
    query = table(["a", "new"], [[1, 0], [1, 0]], [[1, 0], [0, 0]])
    rc = compose_router("knn_task", "router.k=[2]", "router.shrink=[3]")
    router = KNN(rc, tiny_context(tmp_path, "knn_task"))
    router.fit(train, query)
    r, _ = router.estimate(query)
    # a: the 2 nearest of its own task score (1, 0) twice; a's mean is (2/3, 1/3); m = 3:
    # (2 x (1, 0) + 3 x (2/3, 1/3)) / 5 = (0.8, 0.2); b's query, nearer, is not a neighbour
    assert r[0] == pytest.approx([0.8, 0.2])
    # an unseen dataset: neighbours from every task, shrunk to the overall mean (0.5, 0.25)
    assert r[1] == pytest.approx([(1 + 0 + 3 * 0.5) / 5, (0 + 0 + 3 * 0.25) / 5])


def test_ensemble_weights_by_validation_utility():
    from trouter.routers.ensemble import best_mix, utility_sum

    # two queries, two models (cost_norm 0 and 1): model 1 is right on q0 only, model 0 never
    r, c = np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.0, 1.0], [0.0, 1.0]])
    val = RoutingTable(query_ids=["q0", "q1"], datasets=np.array(["d", "d"]),
                       embeddings=np.zeros((2, 2), np.float32), score=r, cost=c, cost_norm=c,
                       tasks=np.array(["", ""], dtype=object))
    exact = (r, c)
    flat = (np.full((2, 2), 0.5), c)  # says both models are alike everywhere: always model 0
    # exact routing: cost-first (0.2, 0.8) model 0 twice (0); balanced: q0 ties (0.5 - 0.5 = 0)
    # -> the cheaper, 0; perf-first: q0 model 1 (0.8 - 0.2 = 0.6), q1 model 0 (0): mean 0.3
    assert utility_sum(*exact, r, c) == pytest.approx(0.3)
    assert utility_sum(*flat, r, c) == 0.0
    weights, earned = best_mix([flat, exact], val, 0.5)
    assert earned == pytest.approx(0.3) and weights.tolist() in ([0.5, 0.5], [0.0, 1.0])


def test_predictions_from_before_the_seed_column_are_one_seed(tmp_path):
    import pandas as pd

    from trouter.io import write_csv
    from trouter.route.choices import router_choices
    from trouter.routers.base import PREDICTION_COLUMNS

    settings = sweep_settings(11)
    old = [c for c in PREDICTION_COLUMNS if c != "seed"]
    write_csv(tmp_path / "p.csv", pd.DataFrame(
        [{"fold": "all", "query_id": "q1", "dataset": "x", "mu_r": mu_r, "mu_c": mu_c,
          "model": "a", "p": 1.0} for mu_r, mu_c in settings]), old)
    p = router_choices(tmp_path / "p.csv", ["q1"], ["a", "b"], settings)
    assert list(p) == [0] and (p[0][:, 0, 0] == 1).all()
