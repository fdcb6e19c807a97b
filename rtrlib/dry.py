"""What a dry run changes, in one place per experiment family.

A dry run (``python -m rtrlib.book build --profile gpu --dry-run``, :class:`rtrlib.runtime.DryRun`)
executes every chapter with a profile's parameters (model sizes, shapes, grids, code paths) but
little work, on the CPU. The parameters themselves are never changed, so every config validates
exactly as in the real run; only the loops do less:

- the training loops (:func:`rtrlib.toy.loop.run_loop`, :func:`rtrlib.lm.train.train_run`) take
  :attr:`DryRun.steps` real updates and then skip (:func:`skip_to`) to the last step (OLMo
  runs) or to the last :attr:`DryRun.toy_tail` steps (toy runs, whose steps cost milliseconds:
  what a chapter reads from late in training, such as the bursts of the largest gap, exists),
  so every observation and analysis path still runs;
- a toy batch's task schedule is drawn at full size (so its constraints are checked), and
  only its first :attr:`DryRun.batch_size` rows are sampled (:func:`toy_batch_size`, in
  :meth:`rtrlib.toy.mixture.TaskMixture.sample`); an OLMo step trains on
  :attr:`DryRun.lm_rows` rows of its full
  global batch (the batch itself is assembled at full size, so the injection plan is real);
- the evaluation of an OLMo run reads at most :attr:`DryRun.eval_rows` task instances, and the
  analyses of all instances (the T_ADD probe, the reference gradient) a subset with every label
  (:func:`cover_labels`);
- a model is initialised once per rung, vocabulary and seed and copied after
  (:func:`reuse_init`);
- every OLMo rung is built once per shape with PyTorch's fake tensors (the ``meta`` device
  with a device type), where a forward and backward pass of its full global batch checks every
  shape and the parameter count without memory (:func:`check_full_step`); a rung with more
  than :attr:`DryRun.max_step_params` parameters takes its numeric steps as a one-block model
  of the same width (:func:`numeric_spec`).

What a real step of every rung needs (weights, gradients and AdamW state in fp32, plus
activations) is reported by :func:`check_full_step` (printed once per shape).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

from rtrlib.runtime import DryRun, dry_run

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    import torch

__all__ = ["DryRun", "dry_run", "skip_to", "toy_tail", "toy_batch_size", "rank_rows", "eval_rows",
           "numeric_spec", "check_full_step", "StepCheck", "reuse_init", "cover_labels",
           "log_work"]


def skip_to(done: int, steps: int, tail: int = 0) -> int:
    """The step a training loop that has taken ``done`` of ``steps`` updates continues from:
    ``done``, or in a dry run, once :attr:`DryRun.steps` updates are taken, ``steps - tail``
    (the last ``tail`` updates run, so what a run measures late in training exists)."""
    dry = dry_run()
    if dry is None or done < min(dry.steps, steps):
        return done
    return max(done, steps - tail)


def log_work(work) -> None:
    """In a dry run with a work log, append what the *real* run would do
    (:class:`rtrlib.costs.Work`) to it, one JSON line; nothing otherwise."""
    import json

    dry = dry_run()
    if dry is not None and dry.work_log:
        with open(dry.work_log, "a") as fh:
            fh.write(json.dumps(work.as_dict()) + "\n")


def toy_tail() -> int:
    """The last updates of a toy run a dry run takes (0 outside a dry run)."""
    dry = dry_run()
    return 0 if dry is None else dry.toy_tail


def toy_batch_size(batch_size: int) -> int:
    """The rows the toy engine samples per step: ``batch_size``, capped in a dry run."""
    dry = dry_run()
    return batch_size if dry is None else min(batch_size, dry.batch_size)


def rank_rows(batch_size: int, rank: int, world: int, injected) -> np.ndarray:
    """The rows of a global batch of ``batch_size`` that rank ``rank`` of ``world`` trains on:
    every ``world``-th from ``rank``; in a dry run only :attr:`DryRun.lm_rows` of them, rows
    with a task instance (``injected``) first, so the task's code paths run."""
    import numpy as np

    rows = np.arange(rank, batch_size, world)
    dry = dry_run()
    if dry is None:
        return rows
    first = np.isin(rows, np.asarray(injected, dtype=int))
    return np.concatenate([rows[first], rows[~first]])[:dry.lm_rows]


_INITIAL: dict = {}


def reuse_init(key: object, make: Callable[[], torch.nn.Module],
               empty: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """``make()`` (a freshly initialised model); in a dry run, the first model made for
    ``key`` is remembered and later ones are ``empty()`` models loaded with its weights
    (initialising the embeddings of a large vocabulary is most of a dry run's time)."""
    if dry_run() is None:
        return make()
    if key not in _INITIAL:
        model = make()
        _INITIAL[key] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return model
    model = empty()
    model.load_state_dict(_INITIAL[key])
    return model


def cover_labels(pairs: np.ndarray) -> np.ndarray:
    """Task instances (rows TOK1 TOK2 LABEL) an analysis of all of them reads: all, or in a
    dry run at most :attr:`DryRun.eval_rows` of them with every label among them."""
    import numpy as np

    dry = dry_run()
    if dry is None or len(pairs) <= dry.eval_rows:
        return pairs
    _, first = np.unique(pairs[:, 2], return_index=True)
    rest = np.setdiff1d(np.arange(len(pairs)), first)[:max(0, dry.eval_rows - len(first))]
    return pairs[np.sort(np.concatenate([first, rest]))]


def eval_rows(n: int) -> int:
    """The task instances an OLMo evaluation reads."""
    dry = dry_run()
    return n if dry is None else min(n, dry.eval_rows)


@dataclasses.dataclass(frozen=True)
class StepCheck:
    """The outcome of a full-size step checked with fake (meta) tensors: parameter counts, the
    logits' shape, and what a real fp32 step with AdamW would hold in memory (bytes)."""

    size: str
    params: int
    non_embedding: int
    logits_shape: tuple[int, ...]
    state_bytes: int
    activation_bytes: int

    @property
    def total_gib(self) -> float:
        return (self.state_bytes + self.activation_bytes) / 2**30

    def text(self) -> str:
        return (f"dry run: rung {self.size} checked with fake (meta) tensors: {self.params:,} "
                f"parameters ({self.non_embedding:,} non-embedding), logits "
                f"{self.logits_shape}; a real step needs about {self.total_gib:.1f} GiB "
                f"(weights, gradients, AdamW state in fp32, activations; an estimate)")


@functools.cache
def check_full_step(size: str, vocab_size: int, rows: int, seq_len: int) -> StepCheck:
    """Build rung ``size`` with data-less tensors and run a forward and backward pass of
    ``rows`` sequences of ``seq_len`` tokens through it: every shape is checked, no memory is
    used. Raises what the real step would raise on a shape mismatch. Printed once per shape.

    PyTorch's fake tensors are the meta device with a device type attached (OLMo-core's norms
    open an autocast context for their tensors' device, which the bare meta device refuses)."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    from rtrlib.lm.models import get_spec, model_config

    spec = get_spec(size)
    cfg = model_config(spec, vocab_size)
    with FakeTensorMode():
        model = cfg.build(init_device="cpu")
        x = torch.zeros((rows, seq_len), dtype=torch.long)
        logits = model(x)
        shape = tuple(logits.shape)
        logits.float().sum().backward()
        params = sum(p.numel() for p in model.parameters())
    expected = (rows, seq_len, vocab_size)
    if shape != expected:
        raise RuntimeError(f"rung {size}: logits of shape {shape}, expected {expected}")
    # activations kept for the backward pass: about 34 d_model values per token and block
    # (attention inputs, QKV, the SwiGLU hidden layer, norms) plus the logits, in fp32
    act = 4 * rows * seq_len * (34 * spec.d_model * spec.n_layers + 2 * vocab_size)
    check = StepCheck(size=spec.name, params=params,
                      non_embedding=cfg.num_non_embedding_params,
                      logits_shape=shape, state_bytes=16 * params,
                      activation_bytes=act)
    print(check.text(), flush=True)
    return check


def numeric_spec(size: str, vocab_size: int):
    """The rung an OLMo run takes its numeric steps with: ``size`` itself, or in a dry run
    (above :attr:`DryRun.max_step_params`) one block of the same width and heads."""
    from rtrlib.lm.models import get_spec, model_config

    spec = get_spec(size)
    dry = dry_run()
    if dry is None or model_config(spec, vocab_size).num_params <= dry.max_step_params:
        return spec
    return dataclasses.replace(spec, name=spec.name + "-1block", n_layers=1)
