"""TRouter's two variants (router=trouter, router=trouter_paper) on recorded routing outcomes:
LLMRouter's dcrouter files (9 open LLMs, 5,608 train / 500 test queries, 0/1 scores).

In-domain: trained on the train file (10% held out for early stopping, seeded), tested on the test
file; train queries that also occur in test are dropped. The task prior is the query's own task
(14 task names, joined from the query files by text). Cost is an ESTIMATE: the files hold no token
counts, so cost = query word pieces x input price + 128 assumed output tokens x output price
(llm_candidates.json, USD per 1M), min-max normalised on the training rows.

    python scripts/compare_trouter_recorded.py [../shared/data/routing/llmrouter]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

from trouter.embed import encode, load_encoder
from trouter.route.lit import RoutingDataModule, RoutingSet, TRouterModule
from trouter.route.utility import SETTINGS, route_by_utility, utility
from trouter.stages.train_router import net_settings

ROOT = Path(__file__).resolve().parents[1]
OUTPUT_TOKENS = 128


def load(folder: Path):
    tasks = {}
    for name in ("query_train.jsonl", "query_test.jsonl"):
        for line in (folder / name).open(encoding="utf-8"):
            row = json.loads(line)
            tasks[row["query"]] = row["task_name"]
    splits = {s: json.loads((folder / f"dcrouter_{s}.json").read_text()) for s in ("train", "test")}
    test_questions = {r["question"] for r in splits["test"]}
    splits["train"] = [r for r in splits["train"] if r["question"] not in test_questions]
    splits = {s: [r for r in rows if r["question"] in tasks] for s, rows in splits.items()}
    cards = json.loads((folder / "llm_candidates.json").read_text())
    models = sorted(splits["train"][0]["scores"])
    return splits, tasks, {m: cards[m] for m in models}, models


def tables(rows, tasks, cards, models, task_names):
    questions = [r["question"] for r in rows]
    pieces = np.array([len(x) for x in load_encoder().tokenizer(questions)["input_ids"]])
    price_in = np.array([cards[m]["input_price"] for m in models])
    price_out = np.array([cards[m]["output_price"] for m in models])
    cost = (pieces[:, None] * price_in + OUTPUT_TOKENS * price_out) / 1e6
    score = np.array([[r["scores"][m] for m in models] for r in rows], dtype=np.float32)
    prior = np.eye(len(task_names), dtype=np.float32)[
        [task_names.index(tasks[q]) for q in questions]]
    return encode(questions), prior, score, cost


def train(variant: str, data: dict, task_vecs: np.ndarray, n_models: int, out: Path):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        rc = compose("config", overrides=[f"router={variant}"]).router
    pl.seed_everything(0, verbose=False)
    module = TRouterModule(task_vecs, n_models, lr=float(rc.lr),
                           weight_decay=float(rc.weight_decay), task_weight=float(rc.task_weight),
                           **net_settings(rc, task_vecs.shape[1]))
    ckpt = ModelCheckpoint(dirpath=str(out / variant), filename="best", monitor="val/loss",
                           save_top_k=1, enable_version_counter=False)
    trainer = pl.Trainer(max_epochs=int(rc.max_epochs), logger=False, accelerator="cpu",
                         callbacks=[ckpt, EarlyStopping("val/loss", patience=int(rc.patience))],
                         deterministic=True, enable_progress_bar=False,
                         enable_model_summary=False)
    start = time.monotonic()
    trainer.fit(module, datamodule=RoutingDataModule(data["train"], data["val"],
                                                     int(rc.batch_size), seed=0))
    seconds = time.monotonic() - start
    best = TRouterModule.load_from_checkpoint(ckpt.best_model_path, task_embeddings=task_vecs)
    best.eval()
    return best, seconds, trainer.current_epoch


def main() -> None:
    default = ROOT.parent / "shared/data/routing/llmrouter"
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    torch.set_num_threads(2)
    splits, tasks, cards, models = load(folder)
    task_names = sorted({tasks[r["question"]] for rows in splits.values() for r in rows})
    task_vecs = encode([f"Task: {t}" for t in task_names])
    built = {s: tables(rows, tasks, cards, models, task_names) for s, rows in splits.items()}
    lo, hi = built["train"][3].min(), built["train"][3].max()
    order = np.random.default_rng(0).permutation(len(splits["train"]))
    n_val = len(order) // 10
    sets = {}
    for name, (split, idx) in {"val": ("train", order[:n_val]), "train": ("train", order[n_val:]),
                               "test": ("test", slice(None))}.items():
        q, prior, score, cost = built[split]
        sets[name] = RoutingSet(q[idx], prior[idx], score[idx], ((cost - lo) / (hi - lo))[idx])
    test = sets["test"]
    print(f"{len(splits['train'])} train ({n_val} held out for validation), {len(test.queries)} "
          f"test queries, {len(models)} models, {len(task_names)} tasks; cost is an estimate")
    rows = {"oracle": {}, "best single": {}}
    for s, mu in SETTINGS.items():
        u = utility(test.performance, test.cost, *mu)
        rows["oracle"][s] = u.max(1).mean()
        rows["best single"][s] = u.mean(0).max()
    out = ROOT / "results" / "_compare_trouter"
    for variant in ("trouter", "trouter_paper"):
        module, seconds, epochs = train(variant, sets, task_vecs, len(models), out)
        with torch.no_grad():
            pred = module(torch.as_tensor(test.queries))
        r_hat, c_hat = pred["r_hat"].numpy(), pred["c_hat"].numpy()
        top1 = float((pred["q_t"].argmax(-1).numpy() == test.prior.argmax(1)).mean())
        name = f"{variant} ({epochs} epochs, {seconds:.0f} s, task top-1 {top1:.2f})"
        rows[name] = {}
        for s, mu in SETTINGS.items():
            pick = route_by_utility(r_hat, c_hat, *mu)
            u = utility(test.performance, test.cost, *mu)
            rows[name][s] = u[np.arange(len(pick)), pick].mean()
    print("| method | " + " | ".join(SETTINGS) + " | utility sum |")
    print("|---|" + "---:|" * (len(SETTINGS) + 1))
    for name, vals in rows.items():
        cells = [f"{vals[s]:.4f}" for s in SETTINGS] + [f"{sum(vals.values()):.4f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
