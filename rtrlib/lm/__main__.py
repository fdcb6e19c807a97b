"""Command line: ``python -m rtrlib.lm {train,ladder,sizes} ...``.

``train`` runs one :class:`~rtrlib.lm.train.RunConfig` (JSON overrides); under ``torchrun`` it
initialises the process group itself (gloo on CPU, NCCL on CUDA) and trains data-parallel::

    torchrun --nproc-per-node 2 -m rtrlib.lm train --config '{"size": "tiny", "steps": 100}'

``ladder`` runs a :class:`~rtrlib.lm.ladder.LadderConfig` sweep and writes its table as CSV.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any

from rtrlib.lm.corpus import CorpusConfig
from rtrlib.lm.injection import InjectionConfig
from rtrlib.lm.ladder import LadderConfig, final_metrics, run_injection_ladder
from rtrlib.lm.models import LADDER, ladder_table
from rtrlib.lm.tokenizer import TokenizerConfig
from rtrlib.lm.train import RunConfig, train_run
from rtrlib.store import Store


def run_config_from_dict(d: dict[str, Any]) -> RunConfig:
    """A RunConfig from (possibly nested) JSON: ``injection``/``tokenizer`` may be dicts, and
    ``frequency``, ``gap``, ``vocab_size``, ``corpus_source`` are accepted at top level."""
    d = dict(d)
    inj = dict(d.pop("injection", {}))
    for k in ("frequency", "gap"):
        if k in d:
            inj[k] = d.pop(k)
    tok = dict(d.pop("tokenizer", {}))
    if "vocab_size" in d:
        tok["vocab_size"] = d.pop("vocab_size")
    corpus = dict(tok.pop("corpus", {}))
    if "corpus_source" in d:
        corpus["source"] = d.pop("corpus_source")
    if "paths" in corpus:
        corpus["paths"] = tuple(corpus["paths"])
    return RunConfig(injection=InjectionConfig(**inj),
                     tokenizer=TokenizerConfig(corpus=CorpusConfig(**corpus), **tok), **d)


def _init_distributed(device: str) -> None:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rtrlib.lm", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train one run (torchrun-aware)")
    t.add_argument("--config", default="{}", help="JSON overrides of RunConfig")
    t.add_argument("--out", help="write the evaluation history here (CSV)")
    t.add_argument("--stop-after", type=int, help="end this session after N steps")
    t.add_argument("--cache", help="cache directory (default $RTRLIB_CACHE)")
    t.add_argument("--no-progress", action="store_true")
    lad = sub.add_parser("ladder", help="run a size x frequency sweep")
    lad.add_argument("--config", default="{}", help="JSON overrides of LadderConfig")
    lad.add_argument("--out", required=True, help="CSV of the full history")
    lad.add_argument("--cache")
    sub.add_parser("sizes", help="print the model ladder with parameter counts")
    args = p.parse_args(argv)

    if args.cmd == "sizes":
        print(ladder_table(list(LADDER), LadderConfig().vocab_size).to_string(index=False))
        return 0
    store = Store(args.cache) if args.cache else None
    if args.cmd == "train":
        cfg = run_config_from_dict(json.loads(args.config))
        _init_distributed(cfg.device)
        res = train_run(cfg, store=store, progress=not args.no_progress,
                        stop_after=args.stop_after)
        import torch.distributed as dist

        rank = dist.get_rank() if dist.is_initialized() else 0
        if rank == 0:
            if args.out:
                res.history.to_csv(args.out, index=False)
            print(res.history.tail(1).to_string(index=False))
        if dist.is_initialized():
            dist.destroy_process_group()
        return 0
    fields = {f.name for f in dataclasses.fields(LadderConfig)}
    raw = json.loads(args.config)
    unknown = set(raw) - fields
    if unknown:
        p.error(f"unknown LadderConfig fields: {sorted(unknown)}")
    df = run_injection_ladder(LadderConfig(**raw), store=store)
    df.to_csv(args.out, index=False)
    print(final_metrics(df).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
