"""The recorded work of the ``paper`` profile without its dry run (which would take hours on a
CPU: a step of the paper's 1B rung over 4096 x 100352 logits).

The toy chapters' parameters in ``paper`` are the ``gpu`` profile's, so their work is copied from
``chapters/work/gpu.json`` (recorded by the gpu dry run); chapter 6's is computed here with
:meth:`rtrlib.lm.config.OLMoRunConfig.work` over the same four sweeps chapter 6 builds
(``chapter_ladders`` in the chapter: the T_CMP size x frequency grid, the T_ADD cells, the
matched-frequency gaps). Writes ``chapters/work/paper.json``::

    .venv/bin/python benchmarks/paper_work.py
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from rtrlib.costs import summarise_work, work_path
from rtrlib.lm.config import (
    AdamWConfig,
    EvaluationConfig,
    OLMoRunConfig,
    TaskConfig,
    TextDataConfig,
)
from rtrlib.lm.corpus import CorpusConfig
from rtrlib.lm.injection import InjectionSchedule
from rtrlib.lm.tokenizer import TokenizerConfig

ROOT = Path(__file__).resolve().parent.parent


def chapter6_work(p: dict) -> list:
    """Every run of chapter 6 under parameters ``p`` (as the chapter's sweeps build them)."""
    text = TokenizerConfig(corpus=CorpusConfig(source="stdlib", allow_repeat=True),
                           vocab_size=p["vocab_size"])
    vocab = p["vocab_size"]
    seeds = p["claim_seeds"]
    base = OLMoRunConfig(task=TaskConfig(kind="cmp", set_size=p["set_size"]),
                         data=TextDataConfig(tokenizer=text, seq_len=p["seq_len"],
                                             batch_size=p["batch_size"]),
                         optim=AdamWConfig(lr=p["lr"]),
                         evaluation=EvaluationConfig(eval_every=p["eval_every"]),
                         injection=InjectionSchedule(frequency=min(p["frequencies"])))
    works = []
    steps = p["tokens"] // base.tokens_per_step
    for size in p["sizes"]:
        for f in p["frequencies"]:
            for s in seeds:
                works.append(base.replace(size=size, steps=steps, seed=s,
                                          injection=InjectionSchedule(frequency=f)).work(vocab))
    add = base.replace(task=TaskConfig(kind="add", set_size=p["add_set_size"]),
                       data=base.data.replace(seq_len=p["add_seq_len"],
                                              batch_size=p["add_batch_size"]),
                       evaluation=EvaluationConfig(eval_every=p["add_eval_every"]),
                       steps=p["add_steps"])
    f_high = max(p["add_frequencies"])
    cells = [(size, f_high) for size in p["add_sizes"]]
    cells += [(p["add_sizes"][-1], f) for f in p["add_frequencies"] if f != f_high]
    for size, f in cells:
        for s in seeds:
            works.append(add.replace(size=size, seed=s,
                                     injection=InjectionSchedule(frequency=f)).work(vocab))
    n_max = max(p["gaps"])
    gap = base.replace(data=base.data.replace(seq_len=p["gap_seq_len"],
                                              batch_size=p["gap_batch_size"]),
                       evaluation=EvaluationConfig(eval_every=p["gap_eval_every"],
                                                   burst_evals=n_max),
                       steps=p["gap_steps"])
    f_gap = p["gap_per_batch"] / (p["gap_seq_len"] * p["gap_batch_size"])
    for size in p["gap_sizes"]:
        for g in p["gaps"]:
            for s in seeds:
                works.append(gap.replace(size=size, seed=s, injection=InjectionSchedule(
                    frequency=f_gap, gap=g)).work(vocab))
    return works


def main() -> None:
    profiles = yaml.safe_load((ROOT / "chapters" / "profiles.yaml").read_text())
    gpu = json.loads(work_path("gpu", ROOT).read_text())
    paper = profiles["paper"]
    chapters = {}
    for chapter, works in gpu["chapters"].items():
        if chapter == "06_olmo_injection":
            p = paper["chapters"][chapter]
            works = [w.as_dict() for w in summarise_work(chapter6_work(p))]
        elif paper["chapters"].get(chapter) != profiles["gpu"]["chapters"].get(chapter):
            raise SystemExit(f"{chapter}: paper and gpu parameters differ; dry-run paper")
        chapters[chapter] = works
    out = {"profile": "paper", "gpus": paper.get("gpus", 1), "chapters": chapters,
           "source": "benchmarks/paper_work.py (chapter 6 computed; the rest copied from "
                     "gpu.json, whose parameters paper repeats)"}
    work_path("paper", ROOT).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {work_path('paper', ROOT)}")


if __name__ == "__main__":
    main()
