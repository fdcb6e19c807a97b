"""Mixed precision of the OLMo trainer: fp32 by default on the CPU, bf16 autocast on request,
validation of the precision settings, and what a dry run of a CUDA profile switches on."""

import dataclasses

import numpy as np
import pytest
import torch

from rtrlib.lm.config import OLMoRunConfig, TextDataConfig
from rtrlib.lm.injection import InjectionSchedule
from rtrlib.lm.precision import PrecisionConfig
from rtrlib.lm.tokenizer import TokenData
from rtrlib.params import ParameterError
from rtrlib.runtime import DRY_RUN_ENV, DryRun


def _data(vocab: int = 512, n: int = 20_000, seed: int = 0) -> TokenData:
    tokens = np.random.default_rng(seed).integers(1, vocab, size=n).astype(np.uint16)
    fields = {f.name for f in dataclasses.fields(TokenData)}
    values = {"tokens": tokens, "vocab_size": vocab, "tokenizer_json": "{}",
              "corpus_meta": {}, "eod": "<|endoftext|>"}
    return TokenData(**{k: v for k, v in values.items() if k in fields})


def _cfg(**precision) -> OLMoRunConfig:
    return OLMoRunConfig(size="tiny", steps=4, injection=InjectionSchedule(frequency=0.01),
                         data=TextDataConfig(batch_size=4),
                         precision=PrecisionConfig(**precision))


def _losses(cfg: OLMoRunConfig, data: TokenData, steps: int = 3) -> list[float]:
    trainer = cfg.build(data)
    return [trainer.train_step()[0] for _ in range(steps)]


def test_default_is_fp32_on_cpu_and_deterministic():
    data = _data()
    cfg = _cfg()
    assert cfg.precision.autocast_dtype("cpu") is None
    assert cfg.precision.adamw_options("cpu") == {}  # the reference AdamW on the CPU
    a, b = _losses(cfg, data), _losses(cfg, data)
    assert a == b  # bit for bit, for a seed
    # "none" is the same computation as the CPU default
    assert _losses(_cfg(autocast="none"), data) == a


def test_bf16_autocast_step_runs_on_cpu_and_is_close_to_fp32():
    data = _data()
    fp32 = _losses(_cfg(), data)
    bf16 = _losses(_cfg(autocast="bf16"), data)
    assert _cfg(autocast="bf16").precision.autocast_dtype("cpu") == torch.bfloat16
    assert bf16 != fp32  # bf16 really ran
    # the same initial weights and batches: the losses agree to bf16's precision
    np.testing.assert_allclose(bf16, fp32, rtol=2e-2)
    assert all(np.isfinite(bf16))


def test_cuda_defaults_are_bf16_tf32_fused():
    p = PrecisionConfig()
    assert p.autocast_dtype("cuda") == torch.bfloat16
    assert p.adamw_options("cuda") == {"fused": True}
    assert PrecisionConfig(fused_adamw=False).adamw_options("cuda") == {}
    assert PrecisionConfig(autocast="none").autocast_dtype("cuda") is None


def test_dry_run_of_a_cuda_profile_takes_the_bf16_path(monkeypatch):
    monkeypatch.setenv(DRY_RUN_ENV, DryRun(target_device="cuda").environment()[DRY_RUN_ENV])
    assert PrecisionConfig().autocast_dtype("cpu") == torch.bfloat16
    monkeypatch.setenv(DRY_RUN_ENV, DryRun(target_device="cpu").environment()[DRY_RUN_ENV])
    assert PrecisionConfig().autocast_dtype("cpu") is None


@pytest.mark.parametrize("field,value", [("autocast", "fp16"), ("tf32", "yes"),
                                         ("fused_adamw", 1), ("compile", None)])
def test_precision_settings_are_validated(field, value):
    with pytest.raises(ParameterError, match=field):
        PrecisionConfig(**{field: value})


def test_precision_is_part_of_the_run_key():
    from rtrlib.lm.train import run_key

    assert run_key(_cfg()) != run_key(_cfg(autocast="bf16"))
