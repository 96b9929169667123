"""RouterDC: its two contrastive losses by hand, the settings it answers with which model, and what
it learns on a tiny table where the right choice is known."""

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from tests.test_config import CONF
from tests.test_routers import ROUTERDC_FAST, tiny_table
from trouter.embed import default_model_path, encode
from trouter.errors import ConfigError
from trouter.route.dc import QueryEncoder, sample_llm_loss, sample_sample_loss, tokenizer
from trouter.route.utility import SETTINGS
from trouter.routers import RouterContext
from trouter.routers.routerdc import RouterDC, label, nearest, pseudo_labels, ranking_target

# 1 query, 4 candidates: cosines [0.5, 0.1, -0.2, 0.3] at temperature 0.5 give the logits
# s = [1.0, 0.2, -0.4, 0.6]; exp(s) = [2.71828, 1.22140, 0.67032, 1.82212]. With 4 candidates a
# query has min(3, 4 // 2) = 2 positives and 2 negatives.
LOGITS = torch.tensor([[0.5, 0.1, -0.2, 0.3]]) / 0.5


def llm_loss(target, logits=LOGITS, **kw):
    return float(sample_llm_loss(logits, torch.tensor([target]), 2, 2, **kw))


def test_sample_llm_loss_by_hand():
    # target order 0, 1, 3, 2: positives {0, 1}, negatives {3, 2} (both <= 0.5, kept):
    # ln(2.71828 + 1.82212 + 0.67032) - 1.0 = ln(5.21072) - 1 = 0.65072
    # ln(1.22140 + 1.82212 + 0.67032) - 0.2 = ln(3.71384) - 0.2 = 1.11207; summed: 1.76278
    assert llm_loss([1.0, 0.6, 0.0, 0.2]) == pytest.approx(1.76278, abs=1e-5)
    # a second query whose targets are all unknown adds 0 but counts in the batch mean
    two = sample_llm_loss(LOGITS.repeat(2, 1), torch.tensor([[1.0, 0.6, 0.0, 0.2], [np.nan] * 4]),
                          2, 2)
    assert float(two) == pytest.approx(1.76278 / 2, abs=1e-5)


def test_sample_llm_loss_masks():
    # negatives {2, 3}: candidate 2 (0.6 > 0.5) is a "true item" and left out:
    # ln(2.71828 + 1.82212) - 1.0 = 0.51302; ln(1.22140 + 1.82212) - 0.2 = 0.91302
    assert llm_loss([1.0, 0.9, 0.6, 0.0]) == pytest.approx(1.42603, abs=1e-5)
    # lifted mask: the negatives of the first case, the same loss
    assert llm_loss([1.0, 0.9, 0.6, 0.0], mask_negatives_above=1.0) == \
        pytest.approx(1.76278, abs=1e-5)
    # positives {0, 1} (ties keep the cheaper first); candidate 1 (target 0) is masked:
    # only ln(2.71828 + 0.67032 + 1.82212) - 1.0 = 0.65072
    assert llm_loss([0.4, 0.0, 0.0, 0.0]) == pytest.approx(0.65072, abs=1e-5)
    # every negative a true item: nothing to contrast, 0 with finite gradients
    logits = LOGITS.clone().requires_grad_()
    loss = sample_llm_loss(logits, torch.tensor([[1.0, 1.0, 0.9, 0.8]]), 2, 2)
    loss.backward()
    assert loss.item() == 0 and torch.isfinite(logits.grad).all()


def test_sample_llm_loss_leaves_unknown_scores_out():
    # candidate 1 unknown: order 0, 3, 2; positives {0, 3}, the last known one (2) the negative:
    # ln(2.71828 + 0.67032) - 1.0 = 0.22042; ln(1.82212 + 0.67032) - 0.6 = 0.31326
    logits = LOGITS.clone().requires_grad_()
    loss = sample_llm_loss(logits, torch.tensor([[1.0, np.nan, 0.0, 0.2]]), 2, 2)
    loss.backward()
    assert loss.item() == pytest.approx(0.53368, abs=1e-5)
    assert float(logits.grad[0, 1]) == 0


def test_sample_sample_loss_by_hand():
    vecs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    draws = torch.Generator().manual_seed(0)
    # clusters {0, 1}, {2}, 2 negatives: queries 0 and 1 have 1 other-cluster query and are
    # left out; query 2 is its cluster's only member (its own positive, cosine 1) against 0 and 1:
    # ln(e^1 + e^0.6 + e^0.8) - 1 = ln(2.71828 + 1.82212 + 2.22554) - 1 = 0.91190
    loss = sample_sample_loss(vecs, torch.tensor([0, 0, 1]), 2, 1.0, draws)
    assert float(loss) == pytest.approx(0.91190, abs=1e-5)
    # three clusters: every query is its own positive against the other two; the mean of
    # ln(e + 1 + e^0.6) - 1 = 0.71207, ln(e + 1 + e^0.8) - 1 = 0.78235 and 0.91190
    loss = sample_sample_loss(vecs, torch.tensor([0, 1, 2]), 2, 1.0, draws)
    assert float(loss) == pytest.approx((0.71207 + 0.78235 + 0.91190) / 3, abs=1e-5)
    assert float(sample_sample_loss(vecs, torch.tensor([0, 0, 0]), 1, 1.0, draws)) == 0


def test_the_untrained_encoder_gives_the_frozen_embeddings():
    texts = ["What is 2 plus 3?", "Write a short poem about the number 7 and the colour red."]
    path = default_model_path()
    with torch.no_grad():
        vecs = QueryEncoder(path)(**tokenizer(path, 256)(texts))
    assert np.allclose(vecs.numpy(), encode(texts), atol=1e-5)


def test_settings_without_a_model_use_the_nearest_mu_r():
    named = list(SETTINGS.values())
    assert nearest(named, (0.0, 1.0)) == (0.2, 0.8)
    assert nearest(named, (0.35, 0.65)) == (0.2, 0.8)  # a tie goes to the lower mu_r
    assert nearest(named, (0.7, 0.3)) == (0.8, 0.2)


def test_with_the_authors_mask_a_cost_only_difference_gives_no_signal():
    """Performance-first on task A: targets (0.8 + 0.2, 0.8 + 0) = (1.0, 0.8); the dearer model is
    a "true item" (above 0.5), so the cheaper positive has nothing to be contrasted with."""
    table = tiny_table(np.random.default_rng(0), 12)
    target = ranking_target(table, *SETTINGS["perf_first"])
    task_a = table.tasks == "tA"
    assert np.allclose(target[task_a], [1.0, 0.8]) and np.allclose(target[~task_a], [0.2, 0.8])
    logits = torch.randn(int(task_a.sum()), 2)
    assert sample_llm_loss(logits, torch.tensor(target[task_a]), 1, 1).item() == 0
    assert sample_llm_loss(logits, torch.tensor(target[task_a]), 1, 1,
                           mask_negatives_above=1.0).item() > 0


def router(name, tmp_path, *overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        rc = compose("config", overrides=[f"router={name}", *overrides]).router
    ctx = RouterContext(models=["small", "big"], task_ids=[], task_embeddings=np.zeros((0, 8)),
                        seed=0, threads=1, out_dir=tmp_path, run_name="t")
    return RouterDC(rc, ctx)


def picks(dc, table):
    settings = [(0.0, 1.0), SETTINGS["cost_first"], SETTINGS["balanced"], SETTINGS["perf_first"]]
    return dict(zip(["cost_only", *SETTINGS], dc.choose(table, settings).argmax(-1),
                    strict=True))


def test_config_errors_name_the_field(tmp_path):
    table = tiny_table(np.random.default_rng(0), 8)
    for override, field in (("router.train_settings=all", "train_settings"),
                            ("router.clusters=1", "clusters")):
        with pytest.raises(ConfigError, match=field):
            router("routerdc_frozen", tmp_path, override).fit(table, table)


@pytest.mark.parametrize("name", ["routerdc_frozen", "routerdc"])
def test_routerdc_learns_the_known_choice(name, tmp_path):
    """tiny_table: both candidates score 1 on task A, only model 1 on task B; model 1 is dearer.
    Cost-only and cost-first: model 0 everywhere; balanced: model 0 (on B a tie, to the cheaper);
    performance-first: model 1 on B. On A the two differ only in cost, and their targets (1.0
    and 0.8) put model 1 above the authors' 0.5 mask: A gives no sample-LLM signal, so model 0
    on A is asserted with the mask lifted."""
    overrides = ["router.train_settings=named", "router.mask_negatives_above=1.0",
                 *(ROUTERDC_FAST if name == "routerdc" else [])]
    rng = np.random.default_rng(0)
    train, val, test = tiny_table(rng, 48), tiny_table(rng, 16), tiny_table(rng, 20)
    task_b = test.tasks == "tB"
    dc = router(name, tmp_path, *overrides)
    fitted = dc.fit(train, val)
    assert sorted(fitted["settings"]) == ["mu_r0.2", "mu_r0.5", "mu_r0.8"]
    got = picks(dc, test)
    assert (got["cost_only"] == 0).all() and (got["cost_first"] == 0).all()
    assert (got["balanced"] == 0).all()
    assert (got["perf_first"] == task_b).all()
    assert dc.extra_summary() == {"answered_by": {"mu_r0": "mu_r0.2"}}


def test_frozen_settings_trained_together_learn_what_each_learns_alone(tmp_path):
    """routerdc_frozen trains every setting's candidate embeddings in one run; each setting must
    stop at the epoch, and end with the weights, of its own training."""
    rng = np.random.default_rng(1)
    train, val, test = tiny_table(rng, 48), tiny_table(rng, 16), tiny_table(rng, 20)
    settings = list(SETTINGS.values())
    fast = ["router.patience=2", "router.lr=0.5"]  # the settings stop at different epochs
    together = router("routerdc_frozen", tmp_path / "together", "router.train_settings=named",
                      *fast)
    fitted = together.fit(train, val)["settings"]
    alone = router("routerdc_frozen", tmp_path / "alone", *fast)
    alone.path, alone.modules = None, {}
    labels = pseudo_labels(train, val, alone.rc.clusters, 0)
    for mu in settings:
        own = alone.fit_setting(mu, train, val, labels)
        assert own["epochs"] == fitted[label(mu)]["epochs"], mu
        assert own["val_loss"] == pytest.approx(fitted[label(mu)]["val_loss"], rel=1e-5), mu
        assert np.allclose(alone.logits(alone.modules[mu], test),
                           together.logits(together.modules[mu], test), atol=1e-5), mu
    # each setting was stopped on its own
    assert len({f["epochs"] for f in fitted.values()}) > 1
    assert (tmp_path / "together" / "best.ckpt").is_file()
