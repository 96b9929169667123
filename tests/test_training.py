"""Router training keeps the best weights in memory (routers/training.py, KeepBest): the same
choice of epoch and weights as Lightning's ModelCheckpoint on val/loss, one checkpoint written."""

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from omegaconf import OmegaConf

from trouter.route.lit import MetricModule, RoutingDataModule, RoutingSet
from trouter.routers import RouterContext, training


def routing_sets(seed: int = 0) -> tuple[RoutingSet, RoutingSet]:
    rng = np.random.default_rng(seed)

    def one(n):
        return RoutingSet(rng.normal(size=(n, 8)).astype(np.float32), np.ones((n, 1)),
                          rng.random((n, 2)), rng.random((n, 2)))

    return one(96), one(32)


def context(out_dir) -> RouterContext:
    return RouterContext(models=["a", "b"], task_ids=[], task_embeddings=np.zeros((0, 8)),
                         seed=3, threads=1, out_dir=out_dir, run_name="t")


def fresh_module() -> MetricModule:
    torch.manual_seed(0)
    return MetricModule(8, 2, hidden=16, dropout=0.1, lr=0.05)


# lr 0.05 on noise: the validation loss goes up and down, so the best epoch is not the last
RC = OmegaConf.create({"name": "metric_router", "max_epochs": 12, "patience": 4})


def test_best_weights_are_those_modelcheckpoint_keeps(tmp_path):
    train, val = routing_sets()
    ctx = context(tmp_path / "ours")
    training.seed(ctx)
    module = fresh_module()
    info = training.train(module, RoutingDataModule(train, val, 16, seed=3), RC, ctx)

    # the reference: Lightning's own checkpoint callback on the same run
    ref_ctx = context(tmp_path / "ref")
    training.seed(ref_ctx)
    ref = fresh_module()
    ckpt = ModelCheckpoint(dirpath=str(ref_ctx.out_dir), filename="best", monitor="val/loss",
                           mode="min", save_top_k=1, save_weights_only=True)
    stop = EarlyStopping(monitor="val/loss", mode="min", patience=4)
    trainer = pl.Trainer(max_epochs=RC.max_epochs, callbacks=[ckpt, stop],
                         logger=training.loggers(ref_ctx), accelerator="cpu", deterministic=True,
                         enable_progress_bar=False, enable_model_summary=False,
                         log_every_n_steps=1)
    training.fit(trainer, ref, RoutingDataModule(train, val, 16, seed=3))
    best = MetricModule.load_from_checkpoint(ckpt.best_model_path)

    losses = pd.read_csv(ctx.out_dir / "metrics.csv")["val/loss"].dropna().tolist()
    assert int(np.argmin(losses)) < len(losses) - 1  # the last epoch is not the best
    assert info["val_loss"] == pytest.approx(float(ckpt.best_model_score)) == min(losses)
    assert info["epochs"] == trainer.current_epoch
    for (name, ours), (_, theirs) in zip(module.state_dict().items(),
                                         best.state_dict().items(), strict=True):
        assert torch.equal(ours, theirs), name
    # one checkpoint, written once, holding those weights
    assert sorted(p.name for p in ctx.out_dir.rglob("*.ckpt")) == ["best.ckpt"]
    assert info["checkpoint"] == str(ctx.out_dir / "best.ckpt")
    saved = MetricModule.load_from_checkpoint(info["checkpoint"])
    assert all(torch.equal(a, b) for a, b in zip(saved.state_dict().values(),
                                                 module.state_dict().values(), strict=True))

