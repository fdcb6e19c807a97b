"""Named settings of an OLMo run that the book uses more than once.

- :data:`CPU_MINIATURE`: chapter 6's calibrated CPU miniature (``benchmarks/ch06_calibration.py``
  records how it was chosen): Python-docs text (stdlib docstrings without ``python3-doc``), a
  1024-token BPE, |S| = 16, batches of 8 sequences of 32 tokens, AdamW at 6e-3, 100k tokens
  (the frequencies it was calibrated for are :class:`~rtrlib.lm.ladder.LadderConfig`'s).
- :data:`SMOKE_MINIATURE`: the same run shrunk to seconds (200k characters of stdlib
  docstrings, a 512-token BPE, |S| = 8, 20 updates): the smoke profile's scale, for tests and
  exercises.

Derive a setting from a preset with ``replace``::

    cfg = CPU_MINIATURE.replace(size="medium", injection=InjectionSchedule(frequency=0.02))
"""

from __future__ import annotations

from rtrlib.lm.config import EvaluationConfig, OLMoRunConfig, TaskConfig, TextDataConfig
from rtrlib.lm.corpus import CorpusConfig
from rtrlib.lm.injection import InjectionSchedule
from rtrlib.lm.tokenizer import TokenizerConfig

__all__ = ["CPU_MINIATURE", "SMOKE_MINIATURE"]

CPU_MINIATURE = OLMoRunConfig()

SMOKE_MINIATURE = CPU_MINIATURE.replace(
    task=TaskConfig(set_size=8),
    data=TextDataConfig(tokenizer=TokenizerConfig(
        corpus=CorpusConfig(source="stdlib", max_chars=200_000), vocab_size=512)),
    injection=InjectionSchedule(frequency=0.02),
    evaluation=EvaluationConfig(eval_every=4, top_k=8, probe_pcs=2),
    steps=20,
)
