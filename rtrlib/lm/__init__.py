"""The scaled-down OLMo task-injection run (see issue 5).

Modules: :mod:`~rtrlib.lm.corpus` (background text), :mod:`~rtrlib.lm.tokenizer` (byte-level
BPE), :mod:`~rtrlib.lm.tasks` (T_CMP, T_ADD), :mod:`~rtrlib.lm.injection` (batches and
schedules), :mod:`~rtrlib.lm.models` (the OLMo-core ladder), :mod:`~rtrlib.lm.train` (training
with checkpoints, resume and data parallelism), :mod:`~rtrlib.lm.analysis` (accuracy, probes,
gradient decomposition), :mod:`~rtrlib.lm.ladder` (the size x frequency sweep).
"""

import os

# OpenMP threads that busy-wait collapse throughput when the 2 cores are shared with other
# jobs (measured 10x slower); passive waiting costs nothing when the machine is idle. Only
# effective when set before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "2")
