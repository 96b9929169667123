"""RouterDC (Chen et al., NeurIPS 2024) in Lightning: its two contrastive losses, the network (a
query encoder and one learned embedding per candidate), the training module and the data."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import lightning.pytorch as pl
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from trouter.route.lit import RoutingModule

# The authors' initialisation of the candidate embeddings: every coordinate N(0, 0.78^2).
INIT_STD = 0.78


def sample_llm_loss(logits: torch.Tensor, target: torch.Tensor, positives: int, negatives: int,
                    mask_negatives_above: float = 0.5) -> torch.Tensor:
    """The sample-LLM contrastive loss (the authors' compute_sample_llm_loss): the mean over
    the batch's queries of sample_llm_terms."""
    return sample_llm_terms(logits, target, positives, negatives,
                            mask_negatives_above).sum() / len(logits)


def sample_llm_terms(logits: torch.Tensor, target: torch.Tensor, positives: int, negatives: int,
                     mask_negatives_above: float = 0.5) -> torch.Tensor:
    """[N] each query's term of the sample-LLM contrastive loss.

    Per query the candidates are ranked by `target` (descending; ties to the lower index, the
    cheaper candidate; NaN targets never used). The first `positives` are the positives, the last
    `negatives` known ones the negatives (never overlapping the positives). A positive whose
    target is not above 0 is masked ("the positive model does not do well"); a negative whose
    target is above `mask_negatives_above` (the authors: 0.5) is left out of the denominator ("a
    true item"). Each unmasked positive p adds -log(exp(s_p) / (exp(s_p) + sum_n exp(s_n))) over
    the kept negatives n (0 when none is kept). As in the authors' code the terms are summed over
    a query's positives (sample_llm_loss averages them over all the batch's queries, masked
    terms counting as zero)."""
    known = ~target.isnan()
    ranked = target.masked_fill(~known, -torch.inf)
    order = ranked.argsort(dim=1, descending=True, stable=True)
    places = torch.arange(target.shape[1]).expand_as(order)
    rank = torch.empty_like(order).scatter_(1, order, places)
    first_negative = (known.sum(1, keepdim=True) - negatives).clamp(min=positives)
    value = target.nan_to_num(0.0)
    pos = known & (rank < positives) & (value > 0)
    neg = known & (rank >= first_negative) & (value <= mask_negatives_above)
    neg_lse = logits.masked_fill(~neg, -torch.inf).logsumexp(1, keepdim=True)
    terms = torch.logaddexp(logits, neg_lse) - logits
    return (terms * pos).sum(1)


def sample_sample_loss(vecs: torch.Tensor, clusters: torch.Tensor, negatives: int,
                       temperature: float, generator: torch.Generator) -> torch.Tensor:
    """The sample-sample contrastive loss (the authors' compute_cluster_loss) on k-means
    pseudo-labels.

    For every query i of the batch: one positive drawn uniformly among the batch's queries of
    its cluster (i itself included, as in the authors' code) and `negatives` drawn without
    replacement among the batch's queries of other clusters; the term is -log softmax at the
    positive of the cosines / temperature to [positive, negatives]. A query with fewer than
    `negatives` other-cluster queries in the batch is left out; the loss is the mean over the
    rest (0 when none is left)."""
    same = clusters[:, None] == clusters[None, :]
    rows = (~same).sum(1) >= negatives
    if not rows.any():
        return vecs.new_zeros(())
    unit = F.normalize(vecs, dim=1)
    sims = unit @ unit.T / temperature
    pos = torch.rand(sims.shape, generator=generator).masked_fill(~same, -1).argmax(1)
    neg = torch.rand(sims.shape, generator=generator).masked_fill(same, -1).topk(negatives).indices
    picked = sims.gather(1, torch.cat([pos[:, None], neg], 1))[rows]
    return (picked.logsumexp(1) - picked[:, 0]).mean()


class QueryEncoder(nn.Module):
    """all-MiniLM-L6-v2 as the frozen embeddings use it: the mean of the token states over the
    attention mask, L2-normalised. Without dropout, as the authors fine-tune (their encoder stays
    in the eval mode from_pretrained leaves it in)."""

    def __init__(self, path: str):
        super().__init__()
        from transformers import AutoModel

        self.bert = AutoModel.from_pretrained(path, hidden_dropout_prob=0.0,
                                              attention_probs_dropout_prob=0.0).train()
        self.dim = self.bert.config.hidden_size

    def forward(self, attention_mask: torch.Tensor, **tokens: torch.Tensor) -> torch.Tensor:
        states = self.bert(attention_mask=attention_mask, **tokens).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        return F.normalize((states * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=1)


def tokenizer(path: str, max_tokens: int) -> Callable[[list[str]], dict]:
    """Texts -> the encoder's inputs, padded to the batch's longest, cut at max_tokens."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    call = partial(tok, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt")
    return lambda texts: dict(call(texts))


class RouterDCNet(nn.Module):
    """Logits = cosine(query vector, candidate embedding) / temperature. The query vector is the
    encoder's, or (encoder None) the frozen embedding of size `dim` given as the input."""

    def __init__(self, n_models: int, dim: int, temperature: float,
                 encoder: QueryEncoder | None = None):
        super().__init__()
        self.encoder, self.temperature = encoder, temperature
        size = dim if encoder is None else encoder.dim
        self.models = nn.Parameter(torch.randn(n_models, size) * INIT_STD)

    def forward(self, queries) -> tuple[torch.Tensor, torch.Tensor]:
        vecs = queries if self.encoder is None else self.encoder(**queries)
        cos = F.normalize(vecs, dim=1) @ F.normalize(self.models, dim=1).T
        return cos / self.temperature, vecs


class RouterDCModule(RoutingModule):
    """AdamW on the candidate embeddings and (when there is one) the encoder. The sample-sample
    loss needs an encoder: on frozen embeddings it could train nothing and is left out. Its
    random draws come from seeded generators; the validation one restarts every epoch, so the
    validation loss of two epochs is measured on the same draws."""

    def __init__(self, n_models: int, dim: int, encoder_path: str | None = None,
                 temperature: float = 1.0, positives: int = 3, negatives: int = 3,
                 mask_negatives_above: float = 0.5, sample_weight: float = 1.0,
                 sample_negatives: int = 3, lr: float = 5e-5, weight_decay: float = 1e-2,
                 seed: int = 0):
        """encoder_path: the MiniLM to fine-tune; None: the queries are frozen embeddings of
        size `dim`."""
        super().__init__()
        self.save_hyperparameters()
        encoder = QueryEncoder(encoder_path) if encoder_path else None
        self.net = RouterDCNet(n_models, dim, temperature, encoder)
        self.draws = {"train": torch.Generator().manual_seed(seed), "val": torch.Generator()}
        self._sums: dict[str, dict] = {}

    def forward(self, queries) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(queries)

    def on_validation_epoch_start(self) -> None:
        self.draws["val"].manual_seed(self.hparams.seed)

    def losses(self, batch) -> dict[str, torch.Tensor]:
        target, clusters, queries = batch
        hp = self.hparams
        logits, vecs = self(queries)
        llm = sample_llm_loss(logits, target, hp.positives, hp.negatives,
                              hp.mask_negatives_above)
        if self.net.encoder is None or not hp.sample_weight:
            return {"loss": llm, "llm_loss": llm}
        draws = self.draws["train" if self.training else "val"]
        sample = sample_sample_loss(vecs, clusters, hp.sample_negatives, hp.temperature, draws)
        return {"loss": llm + hp.sample_weight * sample, "llm_loss": llm, "sample_loss": sample}


class RouterDCSweepModule(RoutingModule):
    """RouterDC on frozen embeddings for S utility settings in one training: one matrix of
    candidate embeddings per setting, [S, M, E], all from the same initial draw. The settings share
    no parameter and AdamW updates every element from its own gradient, so with the same batches
    each setting learns what it would learn alone; the loss is the sum of the settings' losses
    (each logged as `loss_<name>`), and PerSettingStop stops and keeps each setting as
    EarlyStopping and ModelCheckpoint would. Batches: (target [N, S, M], clusters, queries)."""

    def __init__(self, names: list[str], n_models: int, dim: int, temperature: float = 1.0,
                 positives: int = 3, negatives: int = 3, mask_negatives_above: float = 0.5,
                 lr: float = 1e-2, weight_decay: float = 1e-2):
        super().__init__()
        self.save_hyperparameters()
        one = torch.randn(n_models, dim) * INIT_STD  # RouterDCNet's draw
        self.models = nn.Parameter(one.repeat(len(names), 1, 1))
        self._sums: dict[str, dict] = {}

    def forward(self, queries: torch.Tensor) -> torch.Tensor:
        """[S, N, M] every setting's logits."""
        cos = torch.einsum("ne,sme->snm", F.normalize(queries, dim=1),
                           F.normalize(self.models, dim=2))
        return cos / self.hparams.temperature

    def losses(self, batch) -> dict[str, torch.Tensor]:
        target, _, queries = batch
        hp = self.hparams
        logits = self(queries)
        s, n, m = logits.shape
        terms = sample_llm_terms(logits.reshape(s * n, m), target.transpose(0, 1).reshape(s * n, m),
                                 hp.positives, hp.negatives, hp.mask_negatives_above)
        per_setting = terms.view(s, n).sum(1) / n
        return {"loss": per_setting.sum(),
                **{f"loss_{name}": per_setting[i] for i, name in enumerate(hp.names)}}


class PerSettingStop(pl.Callback):
    """Early stopping and the best weights of each setting of a RouterDCSweepModule, as
    EarlyStopping and ModelCheckpoint (val/loss, mode min) do for one model: a setting's weights
    are kept at each strictly lower validation loss, the setting stops after `patience`
    validations without one (at once on a loss that is not finite), the training when every
    setting has stopped."""

    def __init__(self, names: list[str], patience: int):
        self.names, self.patience = names, patience
        self.best = dict.fromkeys(names, math.inf)
        self.wait = dict.fromkeys(names, 0)
        self.epochs: dict[str, int] = {}
        self.weights: dict[str, torch.Tensor] = {}

    def on_validation_end(self, trainer: pl.Trainer, module: RouterDCSweepModule) -> None:
        if trainer.sanity_checking:
            return
        for i, name in enumerate(self.names):
            if name in self.epochs:
                continue
            loss = float(trainer.callback_metrics[f"val/loss_{name}"])
            if loss < self.best[name]:
                self.best[name], self.wait[name] = loss, 0
                self.weights[name] = module.models[i].detach().clone()
            else:
                self.wait[name] += 1
            if not math.isfinite(loss) or self.wait[name] >= self.patience:
                self.epochs[name] = trainer.current_epoch + 1
        if len(self.epochs) == len(self.names):
            trainer.should_stop = True

    def keep_best(self, module: RouterDCSweepModule, epochs_run: int) -> dict[str, dict]:
        """Put each setting's best weights into the module; per setting its epochs and best
        validation loss."""
        missing = [n for n in self.names if n not in self.weights]
        if missing:
            raise ValueError(f"RouterDC settings {missing}: no finite validation loss")
        with torch.no_grad():
            module.models.copy_(torch.stack([self.weights[n] for n in self.names]))
        return {n: {"epochs": self.epochs.get(n, epochs_run), "val_loss": self.best[n]}
                for n in self.names}


@dataclass
class DCSet:
    """N queries: frozen embeddings [N, E] or texts; ranking targets [N, M] (or [N, S, M] for
    S settings at once); cluster ids [N]."""

    queries: np.ndarray | list[str]
    target: np.ndarray
    clusters: np.ndarray


class DCBatches(Dataset):
    """Whole batches by index lists (a BatchSampler with batch_size=None): (target, clusters,
    queries), the texts tokenised per batch."""

    def __init__(self, data: DCSet, tokenize: Callable[[list[str]], dict] | None = None):
        self.target = torch.as_tensor(data.target, dtype=torch.float32)
        self.clusters = torch.as_tensor(data.clusters, dtype=torch.long)
        self.tokenize = tokenize
        self.queries = (data.queries if tokenize
                        else torch.as_tensor(np.asarray(data.queries), dtype=torch.float32))

    def __len__(self) -> int:
        return len(self.target)

    def __getitem__(self, idx: list[int]):
        queries = (self.tokenize([self.queries[i] for i in idx]) if self.tokenize
                   else self.queries[idx])
        return self.target[idx], self.clusters[idx], queries


class DCDataModule(pl.LightningDataModule):
    def __init__(self, train: DCSet, val: DCSet, batch_size: int, seed: int,
                 tokenize: Callable[[list[str]], dict] | None = None):
        super().__init__()
        self.train, self.val = DCBatches(train, tokenize), DCBatches(val, tokenize)
        self.batch_size, self.seed = batch_size, seed

    def train_dataloader(self) -> DataLoader:
        order = RandomSampler(self.train, generator=torch.Generator().manual_seed(self.seed))
        return DataLoader(self.train, sampler=BatchSampler(order, self.batch_size, False),
                          batch_size=None)

    def val_dataloader(self) -> DataLoader:
        order = SequentialSampler(self.val)
        return DataLoader(self.val, sampler=BatchSampler(order, self.batch_size, False),
                          batch_size=None)
