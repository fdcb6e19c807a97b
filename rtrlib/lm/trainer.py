"""One update of an OLMo-core model on the background stream with a task injected.

:class:`OLMoTrainer` holds a run's model, optimiser, task and token stream; its
:meth:`~OLMoTrainer.train_step` reads like nanoGPT's loop: get the batch of this step, forward,
loss, backward, optimiser step. A batch is a pure function of (seed, step), so the trainer's
state (:meth:`~OLMoTrainer.state_dict`: weights, optimiser, step, instances injected) is all a
checkpoint needs for an exact resume.

Several ranks: :func:`parallelize` wraps the model with OLMo-core's DDP (``apply_ddp``: every
rank holds all weights) or FSDP (``apply_fsdp``: weights, gradients and AdamW state sharded over
the ranks, for the rungs one GPU cannot hold), as the run's ``data_parallel`` says. An FSDP
checkpoint holds the full (unsharded) weights and optimiser state
(``torch.distributed.checkpoint.state_dict``), so it resumes on any number of ranks.
:meth:`~OLMoTrainer.loss` is the one forward pass of a
training step, under the run's mixed precision (:mod:`rtrlib.lm.precision`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from rtrlib.dry import check_full_step, dry_run, numeric_spec, rank_rows
from rtrlib.lm.gradients import mlp_gradient_split
from rtrlib.lm.injection import TokenBatch, make_token_batch
from rtrlib.lm.models import build_model
from rtrlib.params import ParameterError

if TYPE_CHECKING:
    from rtrlib.lm.config import OLMoRunConfig
    from rtrlib.lm.tokenizer import TokenData

__all__ = ["OLMoTrainer", "dist_info", "parallelize"]


def dist_info() -> tuple[int, int]:
    """(rank, world size) when running under an initialised process group, else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


DATA_PARALLEL = ("ddp", "fsdp")


def parallelize(model: torch.nn.Module, world: int, device: torch.device,
                strategy: str = "ddp") -> torch.nn.Module:
    """Data parallelism over ``world`` ranks with OLMo-core's ``apply_ddp`` or ``apply_fsdp``
    (``strategy``); a no-op for one rank."""
    if world > 1:
        from torch.distributed.device_mesh import init_device_mesh

        mesh = init_device_mesh(device.type, (world,))
        if strategy == "fsdp":
            model.apply_fsdp(dp_mesh=mesh)
        else:
            model.apply_ddp(dp_mesh=mesh)
    return model


def _full_state_options():
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=True)


class OLMoTrainer:
    """The model, optimiser, task and stream of one run; ``step`` updates taken so far.

    With ``world`` ranks each rank takes its share of the rows of the same global batch.
    """

    def __init__(self, cfg: OLMoRunConfig, data: TokenData, world: int = 1) -> None:
        if world > 1 and cfg.evaluation.grad_every:
            raise ParameterError("grad_every", cfg.evaluation.grad_every,
                                 "0 under torchrun (the gradient analysis runs in one process)")
        if cfg.data.batch_size % world:
            raise ParameterError("batch_size", cfg.data.batch_size,
                                 f"a multiple of the number of ranks ({world})")
        self.cfg, self.data, self.world = cfg, data, world
        self.rank = dist_info()[0]
        self.device = torch.device(cfg.device)
        self.task = cfg.task.build(data.vocab_size)
        if dry_run() is not None:  # the full-size step, on the meta device (rtrlib.dry)
            check_full_step(cfg.size, data.vocab_size, cfg.data.batch_size // world,
                            cfg.data.seq_len)
        spec = numeric_spec(cfg.size, data.vocab_size)
        cfg.precision.apply(cfg.device)
        model = build_model(spec, data.vocab_size, cfg.seed, cfg.device)
        self.sharded = world > 1 and cfg.data_parallel == "fsdp"
        self.model = parallelize(cfg.precision.compile_model(model, cfg.device), world,
                                 self.device, cfg.data_parallel)
        self.optimizer = cfg.optim.build(self.model, **cfg.precision.adamw_options(cfg.device))
        self.step = 0
        self.injected = 0  # task instances injected so far (whole global batches)

    # ---- one update --------------------------------------------------------------------
    def get_batch(self, step: int) -> TokenBatch:
        """The global batch of update ``step``: background windows with instances injected."""
        cfg = self.cfg
        return make_token_batch(self.data.tokens, self.task, cfg.injection, step,
                                cfg.data.batch_size, cfg.data.seq_len, cfg.seed,
                                self.data.eod_id)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean next-token cross-entropy of the model on inputs ``x``, targets ``y``; the
        forward pass under the run's autocast (:class:`~rtrlib.lm.precision.PrecisionConfig`),
        the loss in fp32."""
        with self.cfg.precision.context(self.cfg.device):
            logits = self.model(x)
        logits = logits.float()
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def train_step(self, analyse: bool = False) -> tuple[float, dict[str, Any] | None]:
        """One update; returns the batch loss (averaged over ranks) and, when ``analyse``,
        the gradient split of this step (:func:`~rtrlib.lm.gradients.mlp_gradient_split`)."""
        batch = self.get_batch(self.step)
        rows = rank_rows(batch.tokens.shape[0], self.rank, self.world, batch.rows)
        tok = torch.as_tensor(batch.tokens[rows], device=self.device)
        x, y = tok[:, :-1], tok[:, 1:]
        for group in self.optimizer.param_groups:
            group["lr"] = self.cfg.optim.lr_at(self.step, self.cfg.steps)
        self.optimizer.zero_grad(set_to_none=True)
        split = None
        if analyse:  # the same gradient, assembled from its task and non-task parts
            mask = torch.as_tensor(batch.task_mask[rows], device=self.device)
            loss, cos = mlp_gradient_split(self.model, x, y, mask, self.task,
                                           self.cfg.evaluation.top_k, self.cfg.device,
                                           random_seed=self.cfg.seed * 1_000_003 + self.step)
            split = {"step": self.step, "injected": batch.n_injected, **cos}
        else:
            loss = self.loss(x, y)
            loss.backward()
        self.optimizer.step()
        self.step += 1
        self.injected += batch.n_injected
        loss = loss.detach()
        if self.world > 1:
            torch.distributed.all_reduce(loss)
            loss /= self.world
        return float(loss), split

    # ---- checkpoints -------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Weights, optimiser state, step and instances injected (under FSDP: gathered in
        full on every rank, a collective call)."""
        if self.sharded:
            from torch.distributed.checkpoint.state_dict import get_state_dict

            model, optim = get_state_dict(self.model, self.optimizer,
                                          options=_full_state_options())
        else:
            model, optim = self.model.state_dict(), self.optimizer.state_dict()
        return {"model": model, "optim": optim, "step": self.step, "injected": self.injected}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.sharded:
            from torch.distributed.checkpoint.state_dict import set_state_dict

            set_state_dict(self.model, self.optimizer, model_state_dict=state["model"],
                           optim_state_dict=state["optim"], options=_full_state_options())
        else:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optim"])
        self.step, self.injected = state["step"], state["injected"]
