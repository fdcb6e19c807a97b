"""How an OLMo run uses the GPU: mixed precision, TF32, fused AdamW and ``torch.compile``.

:class:`PrecisionConfig` is a part of :class:`~rtrlib.lm.config.OLMoRunConfig`, the way
OLMo-core composes its train-module settings. Its defaults are what OLMo-core does on a GPU and
nothing on a CPU:

- ``autocast="auto"``: the forward pass under ``torch.autocast`` to bf16 on CUDA (OLMo-core's
  usual mixed precision: fp32 weights, gradients and optimizer state; bf16 matmuls); fp32 on
  the CPU, so a CPU run is bit-identical to one without this config. ``"bf16"`` asks for bf16
  autocast on any device (the CPU has it too: how the tests and the dry run exercise the GPU's
  code path), ``"none"`` for fp32 everywhere;
- ``tf32``: TF32 tensor-core matmuls for what stays in fp32, on CUDA only;
- ``fused_adamw``: PyTorch's fused AdamW kernel, on CUDA only (the CPU keeps the reference
  implementation, whose results the tests pin);
- ``compile``: ``torch.compile`` of the model, on CUDA only (off by default: compiling costs
  minutes, worth it for the long runs of the ``paper`` profile).

A dry run (:mod:`rtrlib.dry`) of a CUDA profile resolves ``"auto"`` as the GPU would, so its
CPU steps run under bf16 autocast.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import torch

from rtrlib.params import ParameterError, require_choice

__all__ = ["AUTOCAST", "PrecisionConfig"]

AUTOCAST = ("auto", "bf16", "none")


@dataclasses.dataclass(frozen=True)
class PrecisionConfig:
    """Mixed precision and GPU kernels of a run (see the module docstring)."""

    autocast: str = dataclasses.field(default="auto", metadata={
        "choices": AUTOCAST, "help": "bf16 autocast: auto (on CUDA), bf16 (always), none"})
    tf32: bool = True
    fused_adamw: bool = True
    compile: bool = False

    def __post_init__(self) -> None:
        require_choice("autocast", self.autocast, AUTOCAST)
        for name in ("tf32", "fused_adamw", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise ParameterError(name, getattr(self, name), "True or False")

    def replace(self, **changes: Any) -> PrecisionConfig:
        return dataclasses.replace(self, **changes)

    @staticmethod
    def _target(device: str) -> str:
        """The device type whose defaults apply: the dry run's target when there is one."""
        from rtrlib.runtime import dry_run

        dry = dry_run()
        kind = torch.device(device).type
        return dry.target_device.split(":")[0] if dry is not None and kind == "cpu" else kind

    def autocast_dtype(self, device: str) -> torch.dtype | None:
        """The autocast dtype of a run on ``device`` (None: fp32)."""
        if self.autocast == "bf16" or (self.autocast == "auto" and self._target(device) == "cuda"):
            return torch.bfloat16
        return None

    def context(self, device: str) -> contextlib.AbstractContextManager:
        """The context of a training forward pass on ``device``."""
        dtype = self.autocast_dtype(device)
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=torch.device(device).type, dtype=dtype)

    def apply(self, device: str) -> None:
        """Process-wide settings: TF32 matmuls on CUDA when ``tf32``."""
        if torch.device(device).type == "cuda" and self.tf32:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

    def adamw_options(self, device: str) -> dict[str, Any]:
        """Extra keyword arguments of ``torch.optim.AdamW`` on ``device``."""
        return {"fused": True} if self.fused_adamw and torch.device(device).type == "cuda" \
            else {}

    def compile_model(self, model: torch.nn.Module, device: str) -> torch.nn.Module:
        """``model`` with its blocks compiled (OLMo-core's ``apply_compile``, which keeps the
        parameter names, so checkpoints load either way) when ``compile`` and on CUDA; call
        it before the model is wrapped for data parallelism."""
        if self.compile and torch.device(device).type == "cuda":
            model.apply_compile()
        return model
