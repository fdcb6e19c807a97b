"""The scaled-down OLMo task-injection run (chapter 6).

Start at :mod:`~rtrlib.lm.ladder` (the size x frequency sweep chapter 6 runs) and
:mod:`~rtrlib.lm.config` (what one run is made of). Then:

- data: :mod:`~rtrlib.lm.corpus` (background text), :mod:`~rtrlib.lm.tokenizer` (byte-level
  BPE and the token stream), :mod:`~rtrlib.lm.tasks` (T_CMP, T_ADD),
  :mod:`~rtrlib.lm.injection` (batches and injection schedules);
- training: :mod:`~rtrlib.lm.models` (the OLMo-core ladder), :mod:`~rtrlib.lm.trainer` (one
  update), :mod:`~rtrlib.lm.train` (a run to the end: checkpoints, resume, data parallelism),
  :mod:`~rtrlib.lm.presets` (named settings);
- measurements: :mod:`~rtrlib.lm.evaluation` (accuracy, loss), :mod:`~rtrlib.lm.probes`
  (order probe, Fourier modes), :mod:`~rtrlib.lm.gradients` (the gradient split),
  :mod:`~rtrlib.lm.summaries` (what the chapter reads off a sweep's table);
- the command line: ``python -m rtrlib.lm {train,ladder,sizes} --help``.

Importing this package changes no thread settings (see :mod:`rtrlib.runtime`).
"""

import logging as _logging

# OLMo-core warns on import that NVIDIA's transformer_engine is not installed; the ladder never
# uses its attention kernels, so the warning would only be noise under every training cell.
_logging.getLogger("olmo_core.nn.attention.te_attn_api").setLevel(_logging.ERROR)
