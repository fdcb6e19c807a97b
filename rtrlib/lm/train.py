"""Training one OLMo-core model with a task injected into the background stream.

A clean loop on an OLMo-core ``Transformer`` (AdamW, warmup + cosine schedule, fp32): every
batch is a pure function of (seed, step), so a run is deterministic for its seed and resumes
exactly from a checkpoint (model, optimizer, history) saved atomically through
:class:`rtrlib.store.Store`. Under ``torchrun`` (``WORLD_SIZE > 1``) the same loop runs
data-parallel with OLMo-core's ``apply_ddp`` over a gloo (CPU) or NCCL (CUDA) process group:
each rank takes its share of the rows of the same global batch.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from rtrlib.codec import storable
from rtrlib.lm.analysis import (
    evaluate_task,
    fourier_modes,
    gradient_split,
    order_probe_r2,
    token_representations,
)
from rtrlib.lm.injection import InjectionConfig, make_batch
from rtrlib.lm.models import build_model, param_counts
from rtrlib.lm.tasks import KINDS, Task, make_task, sample_task_tokens
from rtrlib.lm.tokenizer import TokenData, TokenizerConfig, load_token_data
from rtrlib.params import require_choice, require_device, require_float, require_int
from rtrlib.store import Store, config_key

__all__ = ["RunConfig", "RunResult", "train_run", "run_key", "build_task", "dist_info"]


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that determines one training run."""

    kind: str = "cmp"
    size: str = "tiny"
    injection: InjectionConfig = InjectionConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    set_size: int = 16
    seq_len: int = 64
    batch_size: int = 16
    steps: int = 200
    lr: float = 3e-3
    weight_decay: float = 0.1
    warmup: int = 50
    seed: int = 0
    task_seed: int = 0
    eval_every: int = 25
    grad_every: int = 0
    top_k: int = 32
    probe_pcs: int = 4
    ckpt_every: int = 100
    device: str = "cpu"

    def __post_init__(self) -> None:
        require_choice("kind", self.kind, KINDS)
        require_int("set_size", self.set_size, 4, 1000)
        require_int("seq_len", self.seq_len, 8)
        require_int("batch_size", self.batch_size, 1)
        require_int("steps", self.steps, 1)
        require_float("lr", self.lr, 0.0, 1.0, lo_open=True)
        require_float("weight_decay", self.weight_decay, 0.0)
        require_int("warmup", self.warmup, 0)
        require_int("seed", self.seed, 0)
        require_int("task_seed", self.task_seed, 0)
        require_int("eval_every", self.eval_every, 1)
        require_int("grad_every", self.grad_every, 0)
        require_int("top_k", self.top_k, 1)
        require_int("probe_pcs", self.probe_pcs, 1)
        require_int("ckpt_every", self.ckpt_every, 1)
        require_device("device", self.device)
        self.injection.validate_for(self.seq_len, self.batch_size)

    @property
    def tokens_per_step(self) -> int:
        return self.seq_len * self.batch_size

    def replace(self, **kw: Any) -> RunConfig:
        return dataclasses.replace(self, **kw)


@storable
@dataclasses.dataclass
class RunResult:
    history: pd.DataFrame  # one row per evaluation
    grads: pd.DataFrame  # one row per analysed step
    meta: dict


def build_task(cfg: RunConfig, vocab_size: int) -> Task:
    """S and its task: S depends on (task_seed, set_size, vocab), not on the model seed."""
    tokens = sample_task_tokens(vocab_size, cfg.set_size, cfg.task_seed)
    return make_task(cfg.kind, tokens, cfg.task_seed)


def dist_info() -> tuple[int, int]:
    """(rank, world size) when running under an initialised process group, else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def run_key(cfg: RunConfig) -> str:
    return config_key("lm-ckpt", cfg)


def _lr_at(cfg: RunConfig, step: int) -> float:
    if cfg.warmup and step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def _probe(model, task: Task, cfg: RunConfig) -> dict[str, float]:
    reps = token_representations(model, task.tokens, 0, cfg.device)
    if task.kind == "cmp":
        return {"probe": order_probe_r2(reps, task.rank, cfg.probe_pcs)}
    return {"probe": float(fourier_modes(reps, task.rank))}


def train_run(cfg: RunConfig, data: TokenData | None = None, store: Store | None = None,
              *, progress: bool = True, stop_after: int | None = None) -> RunResult:
    """Train (or resume) one run; returns its evaluation history and gradient analysis.

    ``stop_after`` ends the session after that many steps of this call (a checkpoint is written
    first), which is how tests imitate an interrupted job.
    """
    torch.set_num_threads(min(torch.get_num_threads(), int(os.environ.get("OMP_NUM_THREADS",
                                                                          "2"))))
    store = store or Store()
    rank, world = dist_info()
    data = data or load_token_data(cfg.tokenizer, store)
    task = build_task(cfg, data.vocab_size)
    stream = data.tokens
    device = torch.device(cfg.device)
    model = build_model(cfg.size, data.vocab_size, cfg.seed, cfg.device)
    if world > 1:
        from torch.distributed.device_mesh import init_device_mesh

        if cfg.grad_every:
            raise ValueError("the gradient analysis runs in a single process (grad_every=0)")
        if cfg.batch_size % world:
            raise ValueError(f"batch_size {cfg.batch_size} not divisible by world size {world}")
        model.apply_ddp(dp_mesh=init_device_mesh(device.type, (world,)))
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embeddings" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and
                                                                "embeddings" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8)
    key = run_key(cfg)
    state = store.load(key)
    start, history, grads, injected, lm_losses = 0, [], [], 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optim"])
        start, history, grads = state["step"], state["history"], state["grads"]
        injected, lm_losses = state["injected"], state["lm_losses"]
    counts = param_counts(cfg.size, data.vocab_size)
    t_train = t_grad = 0.0

    def record(step: int) -> None:
        row = {"step": step, "tokens": step * cfg.tokens_per_step, "instances": injected,
               "lm_loss": float(np.mean(lm_losses)) if lm_losses else float("nan")}
        row.update(evaluate_task(model, task, cfg.device))
        row.update(_probe(model, task, cfg))
        history.append(row)
        lm_losses.clear()

    def checkpoint(step: int) -> None:
        if rank == 0:
            store.save(key, {"step": step, "model": model.state_dict(),
                             "optim": opt.state_dict(), "history": history, "grads": grads,
                             "injected": injected, "lm_losses": lm_losses})
        if world > 1:
            torch.distributed.barrier()

    if start == 0 and not history:
        record(0)
    model.train()
    end = cfg.steps if stop_after is None else min(cfg.steps, start + stop_after)
    bar = tqdm(range(start, end), total=cfg.steps, initial=start, disable=not progress or rank,
               desc=f"{cfg.kind} {cfg.size} f={cfg.injection.frequency:.2g} "
                    f"gap={cfg.injection.gap}", leave=False, mininterval=1.0)
    for step in bar:
        t0 = time.perf_counter()
        batch = make_batch(stream, task, cfg.injection, step, cfg.batch_size, cfg.seq_len,
                           cfg.seed, data.eod_id)
        injected += batch.n_injected
        rows = slice(rank, None, world)
        tok = torch.as_tensor(batch.tokens[rows], device=device)
        x, y = tok[:, :-1], tok[:, 1:]
        for group in opt.param_groups:
            group["lr"] = _lr_at(cfg, step)
        opt.zero_grad(set_to_none=True)
        analyse = cfg.grad_every > 0 and step % cfg.grad_every == 0
        if analyse:
            tg = time.perf_counter()
            mask = torch.as_tensor(batch.task_mask, device=device)
            loss, cos = gradient_split(model, x, y, mask, task, cfg.top_k, cfg.device)
            grads.append({"step": step, "injected": batch.n_injected, **cos})
            t_grad += time.perf_counter() - tg
        else:
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            loss.backward()
        opt.step()
        loss_val = loss.detach()
        if world > 1:
            torch.distributed.all_reduce(loss_val)
            loss_val /= world
        lm_losses.append(float(loss_val))
        t_train += time.perf_counter() - t0
        done = step + 1
        if done % cfg.eval_every == 0 or done == cfg.steps:
            record(done)
        if done % cfg.ckpt_every == 0 or done == end:
            checkpoint(done)
    bar.close()
    meta = {"config": dataclasses.asdict(cfg), **counts, "vocab_size": data.vocab_size,
            "corpus": data.corpus_meta, "task_tokens": task.tokens.tolist(),
            "train_seconds_session": t_train, "grad_seconds_session": t_grad,
            "world_size": world, "finished": end == cfg.steps,
            "torch": torch.__version__}
    try:
        from importlib.metadata import version

        meta["olmo_core"] = version("ai2-olmo-core")
    except Exception:  # pragma: no cover
        meta["olmo_core"] = "unknown"
    return RunResult(history=pd.DataFrame(history), grads=pd.DataFrame(grads), meta=meta)
