"""RouterDC (Chen et al., NeurIPS 2024): a query encoder (all-MiniLM-L6-v2, fine-tuned end to end,
or the frozen embeddings) and one learned embedding per candidate, trained with the authors'
sample-LLM and sample-sample contrastive losses (trouter.route.dc); a query goes to the
candidate whose embedding is most similar to it.

Cost enters as the ranking target, as in the authors' RouterBench script (score - cost_rate *
cost): one model per utility setting (mu_r, mu_c), its target the utility mu_r * score - mu_c *
cost_norm mapped affinely onto [0, 1], (mu_r * score + mu_c * (1 - cost_norm)) / (mu_r + mu_c).
The map keeps the utility's order and makes the target the score when mu_c = 0, so the authors'
masks (a positive must be above 0, a negative above 0.5 is left out), written for scores in
[0, 1], keep their meaning. `train_settings: named` trains the three named settings, `sweep` the
evaluation sweep (`sweep_points`), both in fit. `choose` answers every requested setting; one
without its own model uses the trained model with the nearest mu_r (ties: the lower mu_r)."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from trouter.embed import default_model_path
from trouter.errors import ConfigError, DataError
from trouter.route.dc import (
    DCDataModule,
    DCSet,
    PerSettingStop,
    RouterDCModule,
    RouterDCSweepModule,
    tokenizer,
)
from trouter.route.utility import SETTINGS, sweep_settings
from trouter.routers import training
from trouter.routers.base import Router, RoutingTable, one_hot

TRAIN_SETTINGS = ("named", "sweep")
# (config key, smallest allowed value)
INTEGERS = (("positives", 1), ("negatives", 1), ("clusters", 2), ("sample_negatives", 1),
            ("batch_size", 1), ("max_epochs", 1), ("patience", 0), ("encoder.max_tokens", 8))
POSITIVE = ("temperature", "lr")


def check_config(rc: DictConfig) -> None:
    if rc.train_settings not in TRAIN_SETTINGS:
        raise ConfigError(f"router.train_settings={rc.train_settings!r}: expected one of "
                          f"{TRAIN_SETTINGS}")
    if not isinstance(rc.encoder.trainable, bool):
        raise ConfigError(f"router.encoder.trainable={rc.encoder.trainable!r}: expected a bool")
    for key, low in INTEGERS:
        value = OmegaConf.select(rc, key)
        if not isinstance(value, int) or value < low:
            raise ConfigError(f"router.{key}={value!r}: need an integer >= {low}")
    for key in POSITIVE:
        if not float(rc[key]) > 0:
            raise ConfigError(f"router.{key}={rc[key]!r}: need a value > 0")
    if float(rc.sample_weight) < 0:
        raise ConfigError(f"router.sample_weight={rc.sample_weight!r}: need a value >= 0")


def ranking_target(table: RoutingTable, mu_r: float, mu_c: float) -> np.ndarray:
    """[N, M] the utility mapped onto [0, 1] (the module's docstring); NaN where the score is."""
    if mu_r < 0 or mu_c < 0 or mu_r + mu_c <= 0:
        raise ConfigError(f"utility setting (mu_r={mu_r}, mu_c={mu_c}): need weights >= 0, "
                          "not both 0")
    return (mu_r * table.score + mu_c * (1.0 - table.cost_norm)) / (mu_r + mu_c)


def nearest(trained: list[tuple[float, float]], setting: tuple[float, float]):
    """The trained setting whose mu_r is nearest to the setting's; ties to the lower mu_r."""
    return min(trained, key=lambda mu: (round(abs(mu[0] - setting[0]), 9), mu[0]))


def label(mu: tuple[float, float]) -> str:
    return f"mu_r{mu[0]:g}"


def pseudo_labels(train: RoutingTable, val: RoutingTable, k: int, seed: int):
    """k-means pseudo-labels (seeded) on the frozen embeddings of the training queries, the
    untrained encoder's view as in the authors' code; validation queries get the nearest
    centre."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=min(k, len(train)), n_init=10, random_state=seed)
    return km.fit_predict(train.embeddings), km.predict(val.embeddings)


def module_settings(rc: DictConfig, n_models: int) -> dict:
    """RouterDCModule's loss and optimiser settings; with fewer than 6 candidates a query has
    min(k, M // 2) positives and negatives, so the two never overlap."""
    return {"temperature": float(rc.temperature), "positives": min(rc.positives, n_models // 2),
            "negatives": min(rc.negatives, n_models // 2),
            "mask_negatives_above": float(rc.mask_negatives_above),
            "sample_weight": float(rc.sample_weight), "sample_negatives": rc.sample_negatives,
            "lr": float(rc.lr), "weight_decay": float(rc.weight_decay)}


def one_setting(module: RouterDCSweepModule, index: int, queries: torch.Tensor):
    """(logits, queries) of one setting of a sweep module, as RouterDCModule answers."""
    return module(queries)[index], queries


class RouterDC(Router):
    modules: dict | None = None
    tokenize = None

    @property
    def reads_text(self) -> bool:
        """Whether the router encodes the query text itself (no frozen embedding needed)."""
        return bool(self.rc.encoder.trainable)
    borrowed: dict = {}

    def fit(self, train: RoutingTable, val: RoutingTable) -> dict:
        rc, ctx = self.rc, self.ctx
        check_config(rc)
        m = len(ctx.models)
        if m < 2:
            raise DataError(f"{rc.name}: needs at least 2 candidates, the pool has {m}")
        if rc.encoder.trainable:
            self.path = str(rc.encoder.path or default_model_path())
            self.tokenize = tokenizer(self.path, rc.encoder.max_tokens)
            for name, table in (("training", train), ("validation", val)):
                if len(table.texts) != len(table):
                    raise DataError(f"{rc.name}: the encoder reads the query texts, the {name} "
                                    f"table has {len(table.texts)} for {len(table)} queries")
        else:
            self.path = None
        settings = (list(SETTINGS.values()) if rc.train_settings == "named"
                    else sweep_settings(rc.sweep_points))
        labels = pseudo_labels(train, val, rc.clusters, ctx.seed)
        self.modules, fitted = {}, {}
        start = time.monotonic()
        if rc.encoder.trainable:
            for mu in settings:
                fitted[label(mu)] = self.fit_setting(mu, train, val, labels)
        else:
            fitted = self.fit_together(settings, train, val, labels)
        kept = module_settings(rc, m)
        return {"train_settings": str(rc.train_settings), "settings": fitted,
                "trained": "one model per setting" if rc.encoder.trainable
                           else "every setting's model in one training (frozen embeddings)",
                "val_loss": float(np.mean([f["val_loss"] for f in fitted.values()])),
                "train_s": round(time.monotonic() - start, 2),
                "positives": kept["positives"], "negatives": kept["negatives"],
                "clusters": int(labels[0].max()) + 1,
                "sample_sample_loss": bool(rc.encoder.trainable and float(rc.sample_weight) > 0),
                "other_settings": "the trained model with the nearest mu_r (ties: the lower)"}

    def fit_setting(self, mu: tuple[float, float], train: RoutingTable, val: RoutingTable,
                    labels: tuple[np.ndarray, np.ndarray]) -> dict:
        """Train the model of one utility setting (its own folder under out_dir)."""
        rc, ctx = self.rc, self.ctx
        training.seed(ctx)
        module = RouterDCModule(len(ctx.models), train.embeddings.shape[1], self.path,
                                seed=ctx.seed, **module_settings(rc, len(ctx.models)))
        data = DCDataModule(*(DCSet(self.queries(t), ranking_target(t, *mu), c)
                              for t, c in zip((train, val), labels, strict=True)),
                            batch_size=rc.batch_size, seed=ctx.seed, tokenize=self.tokenize)
        sub = replace(ctx, out_dir=ctx.out_dir / label(mu), run_name=f"{ctx.run_name}-{label(mu)}")
        info = training.train(module, data, rc, sub)
        self.modules[mu] = module.eval()
        return info

    def fit_together(self, settings: list[tuple[float, float]], train: RoutingTable,
                     val: RoutingTable, labels: tuple[np.ndarray, np.ndarray]) -> dict:
        """On frozen embeddings: the models of every setting trained at once
        (RouterDCSweepModule), each stopped and kept on its own validation loss; one checkpoint
        with all of them."""
        rc, ctx = self.rc, self.ctx
        names = [label(mu) for mu in settings]
        kept = module_settings(rc, len(ctx.models))
        for key in ("sample_weight", "sample_negatives"):  # no encoder: nothing they could train
            kept.pop(key)
        training.seed(ctx)
        module = RouterDCSweepModule(names, len(ctx.models), train.embeddings.shape[1], **kept)
        data = DCDataModule(*(DCSet(t.embeddings, np.stack([ranking_target(t, *mu)
                                                             for mu in settings], axis=1), c)
                              for t, c in zip((train, val), labels, strict=True)),
                            batch_size=rc.batch_size, seed=ctx.seed)
        stop = PerSettingStop(names, int(rc.patience))
        trainer = training.make_trainer(rc, ctx, [stop])
        training.fit(trainer, module, data)
        fitted = stop.keep_best(module, trainer.current_epoch)
        path = ctx.out_dir / "best.ckpt"
        trainer.save_checkpoint(path, weights_only=True)
        module.eval()
        for i, mu in enumerate(settings):
            self.modules[mu] = partial(one_setting, module, i)
        return {n: {**f, "checkpoint": str(path)} for n, f in fitted.items()}

    def queries(self, table: RoutingTable):
        return list(table.texts) if self.tokenize else table.embeddings

    @torch.no_grad()
    def logits(self, module: RouterDCModule, table: RoutingTable) -> np.ndarray:
        """[N, M] one encoder pass per query (none with frozen embeddings)."""
        queries, size = self.queries(table), int(self.rc.batch_size)
        out = []
        for start in range(0, len(table), size):
            batch = queries[start:start + size]
            batch = (self.tokenize(batch) if self.tokenize
                     else torch.as_tensor(batch, dtype=torch.float32))
            out.append(module(batch)[0].numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.ctx.models)))

    def choose(self, table: RoutingTable, settings: list[tuple[float, float]]) -> np.ndarray:
        """[S, N, M] one-hot: the candidate with the largest logit (ties: the lower index, the
        cheaper) under the model of each setting (its own, else the nearest trained mu_r)."""
        if not self.modules:
            raise RuntimeError(f"{self.rc.name}: fit before choosing")
        trained, logits, out = list(self.modules), {}, []
        self.borrowed = {}
        for setting in settings:
            mu = nearest(trained, tuple(setting))
            if mu != tuple(setting):
                self.borrowed[label(setting)] = label(mu)
            if mu not in logits:
                logits[mu] = self.logits(self.modules[mu], table)
            out.append(one_hot(logits[mu].argmax(1), len(self.ctx.models)))
        return np.stack(out)

    def extra_summary(self) -> dict:
        """The settings of the last `choose` answered by another setting's model."""
        return {"answered_by": self.borrowed}
