"""TRouter's network and loss, the utility, the routing rules and the references."""

import math

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import pytest
import torch

from trouter.errors import TrouterError
from trouter.route.lit import RoutingDataModule, RoutingSet, TRouterModule
from trouter.route.methods import chosen_model, outcomes, reference_choices
from trouter.route.net import TRouterNet, masked_mse, trouter_loss
from trouter.route.utility import (
    SETTINGS,
    adaptive_index,
    route_by_utility,
    sweep_settings,
    utility,
)
from trouter.routers.base import one_hot


def test_shapes_and_gradients():
    torch.manual_seed(0)
    net = TRouterNet(emb_dim=8, n_models=2, hidden=16, temperature=0.5)
    out = net(torch.randn(4, 8), torch.randn(3, 8))
    assert out["logits"].shape == out["q_t"].shape == (4, 3)
    assert out["r_t"].shape == out["c_t"].shape == (3, 2)
    assert out["r_hat"].shape == out["c_hat"].shape == (4, 2)
    assert torch.allclose(out["q_t"].sum(-1), torch.ones(4))
    assert torch.allclose(out["r_hat"], out["q_t"] @ out["r_t"])
    prior = torch.eye(3)[[0, 1, 2, 0]]
    target = torch.rand(4, 2)
    ones = torch.ones(4, 2)
    trouter_loss(out, prior, target, target, ones, ones)["loss"].backward()
    # the matcher's last bias adds one constant to every logit, which a softmax ignores: its
    # gradient is zero in exact arithmetic (rounding may leave ~1e-9); every other one is not
    shift = net.match[-1].bias
    assert shift.grad is not None and shift.grad.abs().max() < 1e-6
    for name, p in net.named_parameters():
        if p is not shift:
            assert p.grad is not None and p.grad.abs().sum() > 1e-6, name


def test_temperature_sharpens_the_task_distribution():
    torch.manual_seed(0)
    net = TRouterNet(8, 2, hidden=16, dropout=0.0)
    q, t = torch.randn(5, 8), torch.randn(4, 8)
    soft = net(q, t)["q_t"]
    net.temperature = 0.1
    sharp = net(q, t)["q_t"]
    assert (sharp.max(-1).values >= soft.max(-1).values - 1e-6).all()
    with pytest.raises(ValueError):
        TRouterNet(8, 2, temperature=0)


def test_loss_equals_a_hand_computed_value():
    out = {"logits": torch.tensor([[0.0, math.log(3.0)]]),
           "r_hat": torch.tensor([[0.5, 1.0]]), "c_hat": torch.tensor([[0.2, 0.4]])}
    prior = torch.tensor([[0.0, 1.0]])
    r, c = torch.tensor([[1.0, 1.0]]), torch.tensor([[0.0, 0.4]])
    ones = torch.ones(1, 2)
    losses = trouter_loss(out, prior, r, c, ones, ones)
    # q(t|q) = (1/4, 3/4): CE = -ln(3/4); MSE over (perf, m1), (perf, m2), (cost, m1), (cost, m2)
    task, mse = -math.log(0.75), (0.25 + 0.0 + 0.04 + 0.0) / 4
    assert losses["task"].item() == pytest.approx(task)
    assert losses["mse"].item() == pytest.approx(mse)
    assert losses["loss"].item() == pytest.approx(task + mse)  # 0.36018...
    assert trouter_loss(out, prior, r, c, ones, ones, task_weight=0.0)["loss"].item() == \
        pytest.approx(mse)
    # the authors' sum: MSE_perf (0.25 + 0) / 2 plus MSE_cost (0.04 + 0) / 2
    summed = trouter_loss(out, prior, r, c, ones, ones, metric_loss="sum")
    assert summed["mse"].item() == pytest.approx(0.125 + 0.02)
    assert summed["loss"].item() == pytest.approx(task + 0.145)
    with pytest.raises(ValueError, match="metric_loss"):
        trouter_loss(out, prior, r, c, ones, ones, metric_loss="total")


def test_masked_mse_skips_missing_targets():
    pred = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    target = torch.tensor([[0.0, float("nan")], [0.0, 1.0]])
    mask = (~target.isnan()).float()
    assert masked_mse(pred, target, mask).tolist() == pytest.approx([0.5, 1.0])


def test_utility_and_routing_rule():
    assert utility([1.0, 0.5], [1.0, 0.0], 0.5, 0.5).tolist() == [0.0, 0.25]
    r_hat = np.array([[0.9, 0.6], [0.2, 0.8]])
    c_hat = np.array([[1.0, 0.0], [0.0, 1.0]])
    # cost-first: 0.2r - 0.8c -> query 0: (-0.62, 0.12), query 1: (0.04, -0.64)
    assert route_by_utility(r_hat, c_hat, 0.2, 0.8).tolist() == [1, 0]
    # performance-first: 0.8r - 0.2c -> query 0: (0.52, 0.48), query 1: (0.16, 0.44)
    assert route_by_utility(r_hat, c_hat, 0.8, 0.2).tolist() == [0, 1]
    # a tie goes to the cheaper (first) model
    assert route_by_utility(np.array([[0.5, 0.5]]), np.zeros((1, 2)), 0.5, 0.5).tolist() == [0]


@pytest.mark.parametrize("n,want", [(1, [0, 0, 0]), (2, [0, 1, 1]), (3, [0, 1, 2]),
                                    (6, [0, 3, 5])])
def test_adaptive_llm_rule(n, want):
    assert [adaptive_index(n, *SETTINGS[s]) for s in SETTINGS] == want


def tables(seed=0, n=40, m=3):
    rng = np.random.default_rng(seed)
    r = rng.integers(0, 2, (n, m)).astype(float)
    cost = rng.random((n, m)) * np.arange(1, m + 1)
    c_norm = cost / cost.max()
    noisy = (r + rng.normal(0, 0.3, r.shape), c_norm + rng.normal(0, 0.1, r.shape))
    return r, cost, c_norm, noisy


@pytest.mark.parametrize("seed", range(5))
def test_oracle_bounds_every_method_and_random_is_the_mean(seed):
    r, cost, c_norm, (r_hat, c_hat) = tables(seed)
    models = ["m0", "m1", "m2"]
    settings = sweep_settings(21)
    choices = reference_choices(r, c_norm, models, settings)
    choices["noisy"] = np.stack([one_hot(route_by_utility(r_hat, c_hat, *mu), 3)
                                 for mu in settings])
    earned = {k: outcomes(p, r, cost, c_norm, settings) for k, p in choices.items()}
    for k, e in earned.items():  # per query and setting, nobody beats the oracle
        assert (e["utility"] <= earned["oracle"]["utility"] + 1e-12).all(), k
    singles = np.stack([earned[m]["utility"] for m in models])
    assert np.allclose(earned["random"]["utility"], singles.mean(0))
    assert np.allclose(earned["random"]["cost"], cost.mean(1))
    s = settings.index(SETTINGS["balanced"])
    assert np.allclose(earned["m1"]["score"][s], r[:, 1])
    assert list(chosen_model(choices["random"], models)[s][:2]) == ["uniform", "uniform"]


def fit(seed):
    rng = np.random.default_rng(0)
    n, t, e = 64, 3, 8
    tasks = rng.normal(size=(t, e)).astype(np.float32)
    which = rng.integers(0, t, n)
    queries = (tasks[which] + rng.normal(0, 0.1, (n, e))).astype(np.float32)
    prior = np.eye(t, dtype=np.float32)[which]
    perf = np.stack([which == 0, which != 0], 1).astype(np.float32)
    cost = np.tile([0.0, 1.0], (n, 1)).astype(np.float32)
    data = RoutingSet(queries, prior, perf, cost)
    pl.seed_everything(seed, verbose=False)
    module = TRouterModule(tasks, 2, hidden=16, lr=1e-2, dropout=0.0)
    trainer = pl.Trainer(max_epochs=30, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         deterministic=True, accelerator="cpu")
    trainer.fit(module, datamodule=RoutingDataModule(data, data, batch_size=16, seed=seed))
    return module, data, trainer


def test_training_learns_and_is_reproducible():
    module, data, trainer = fit(7)
    metrics = trainer.callback_metrics
    assert metrics["val/task_acc"] > 0.95 and metrics["val/mse"] < 0.05
    with torch.no_grad():
        out = module(torch.as_tensor(data.queries))
    again, _, _ = fit(7)
    with torch.no_grad():
        assert torch.equal(out["r_hat"], again(torch.as_tensor(data.queries))["r_hat"])


def test_paired_bootstrap_hand_checked():
    from trouter.route.stats import intervals, p_better, resample_indices

    # two queries, three fixed resamples: means of a = (1, 0, 0.5), of b = (0, 0, 0)
    idx = np.array([[0, 0], [1, 1], [0, 1]])
    table = pd.DataFrame({"a": [1.0, 0.0], "b": [0.0, 0.0]})
    ci = intervals(table, idx, 0.5)  # the 25th and 75th percentiles of (0, 0.5, 1)
    assert ci.loc["a"].tolist() == pytest.approx([0.5, 0.25, 0.75])
    assert ci.loc["b"].tolist() == [0.0, 0.0, 0.0]
    # a - b <= 0 in one of three resamples; with the observed sample: (1 + 1) / (3 + 1)
    assert p_better(table["a"], table["b"], idx) == pytest.approx(0.5)
    big = resample_indices(50, 1000, 0)
    assert big.shape == (1000, 50) and (resample_indices(50, 1000, 0) == big).all()
    with pytest.raises(TrouterError, match="evaluation.resamples=10"):
        resample_indices(50, 10, 0)


def test_factorised_matcher_equals_the_concatenation():
    torch.manual_seed(0)
    net = TRouterNet(16, 3, hidden=8, branch_out=16, match_hidden=[8, 8], head_hidden=[4])
    net.eval()
    q, t = torch.randn(5, 16), torch.randn(4, 16)
    out = net(q, t)
    hq, ht = net.query_proj(q), net.task_proj(t)
    pairs = torch.cat([hq[:, None].expand(5, 4, -1), ht[None].expand(5, 4, -1)], -1)
    assert torch.allclose(out["logits"], net.match(pairs).squeeze(-1), atol=1e-6)


def test_packed_texts_round_trip_and_stay_small(tmp_path):
    """Query texts in queries.npz: UTF-8 bytes and offsets, so one long text does not widen
    every row (a fixed-width string array did: 5 GB for the paper-scale dry run)."""
    import numpy as np

    from trouter.route.data import pack_texts, unpack_texts

    texts = ["", "é 中文 🙂", "x" * 100_000] + [f"q{i}" for i in range(1000)]
    np.savez(tmp_path / "t.npz", **pack_texts(texts))
    with np.load(tmp_path / "t.npz") as z:
        assert unpack_texts(z) == texts
    assert (tmp_path / "t.npz").stat().st_size < 200_000
    np.savez(tmp_path / "e.npz", **pack_texts([]))
    with np.load(tmp_path / "e.npz") as z:
        assert unpack_texts(z) == []


def test_best_model_per_task_by_hand():
    from trouter.route.methods import task_best_choices

    # task a: model 0 scores 0.5 at cost 0, model 1 scores 1 at cost 1 (one label unscored);
    # task b: both score 1, a tie at cost 0: the cheaper (first) model
    train = {"a": (np.array([[1.0, 1.0], [0.0, np.nan], [0.5, 1.0]]), np.array([[0, 1.0]] * 3)),
             "b": (np.ones((2, 2)), np.zeros((2, 2)))}
    settings = [(0.2, 0.8), (0.5, 0.5), (0.8, 0.2)]
    p = task_best_choices(train, np.array(["a", "b", "a"]), 2, settings)
    # task a mean score (0.5, 1.0): U = (0.1, -0.6), (0.25, 0.0), (0.4, 0.6)
    assert p[:, [0, 2]].argmax(-1).tolist() == [[0, 0], [0, 0], [1, 1]]
    assert (p[:, 1].argmax(-1) == 0).all() and (p.sum(-1) == 1).all()
