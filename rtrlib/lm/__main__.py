"""Command line: ``python -m rtrlib.lm {train,ladder,sizes} [options]``.

The options are the fields of the configs (:mod:`rtrlib.cli`), nested parts as dotted options.
``train`` runs one :class:`~rtrlib.lm.config.OLMoRunConfig` (defaults: chapter 6's CPU
miniature); under ``torchrun`` it initialises the process group itself (gloo on CPU, NCCL on
CUDA) and trains data-parallel::

    torchrun --nproc-per-node 2 -m rtrlib.lm train --size tiny --steps 100 \\
        --injection.frequency 0.01 --data.tokenizer.corpus.source stdlib

``ladder`` runs a :class:`~rtrlib.lm.ladder.LadderConfig` sweep (``--base.*`` sets the runs'
other fields) and writes its table as CSV; ``sizes`` prints the model ladder. Thread settings
(``--threads``, :func:`rtrlib.runtime.configure_threads`) are made before torch is loaded.
"""

from __future__ import annotations

import argparse
import os
import sys

from rtrlib.params import ParameterError
from rtrlib.runtime import configure_threads

#: the ladder's axes: set per cell, so not options of its base run
_LADDER_AXES = ("progress", "size", "steps", "injection", "kind")


def _init_distributed(device: str) -> None:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")


def _threads_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: "
                        "$RTRLIB_THREADS, $OMP_NUM_THREADS or the number of cores)")


def _parser() -> argparse.ArgumentParser:
    from rtrlib.cli import add_config_options
    from rtrlib.lm.config import OLMoRunConfig
    from rtrlib.lm.ladder import LadderConfig

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cache", help="cache directory (default $RTRLIB_CACHE)")
    _threads_option(common)
    common.add_argument("--no-progress", action="store_true", help="no progress bars")
    p = argparse.ArgumentParser(prog="python -m rtrlib.lm", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", parents=[common], help="train one run (torchrun-aware)")
    add_config_options(t, OLMoRunConfig)
    t.add_argument("--out", help="write the evaluation history here (CSV)")
    t.add_argument("--stop-at", type=int, help="end this session at that step (checkpointed)")
    t.add_argument("--refresh", action="store_true", help="discard a stored result")
    lad = sub.add_parser("ladder", parents=[common], help="run a size x frequency sweep")
    add_config_options(lad, LadderConfig, skip=_LADDER_AXES)
    lad.add_argument("--out", required=True, help="CSV of the full history")
    sub.add_parser("sizes", help="print the model ladder with parameter counts")
    return p


def main(argv: list[str] | None = None) -> int:
    threads = argparse.ArgumentParser(add_help=False)
    _threads_option(threads)
    try:  # before torch is imported, so that its OpenMP pool sees the settings
        configure_threads(threads.parse_known_args(argv)[0].threads)
    except ParameterError as exc:
        print(f"python -m rtrlib.lm: {exc}", file=sys.stderr)
        return 2
    from rtrlib.cli import config_from_args
    from rtrlib.lm.config import OLMoRunConfig
    from rtrlib.lm.ladder import LadderConfig, run_injection_ladder
    from rtrlib.lm.models import LADDER, ladder_table
    from rtrlib.lm.summaries import final_metrics
    from rtrlib.store import Store

    p = _parser()
    args = p.parse_args(argv)
    if args.cmd == "sizes":
        vocab = OLMoRunConfig().data.tokenizer.vocab_size
        print(ladder_table(list(LADDER), vocab).to_string(index=False))
        return 0
    try:
        cfg = config_from_args(args, OLMoRunConfig if args.cmd == "train" else LadderConfig)
    except ParameterError as exc:
        print(f"{p.prog} {args.cmd}: {exc}", file=sys.stderr)
        return 2
    store = Store(args.cache) if args.cache else None
    if args.cmd == "ladder":
        df = run_injection_ladder(cfg, store=store, progress=not args.no_progress)
        df.to_csv(args.out, index=False)
        print(final_metrics(df).to_string(index=False))
        return 0
    return _train(cfg, args, store)


def _train(cfg, args: argparse.Namespace, store) -> int:
    import torch.distributed as dist

    from rtrlib.lm.train import train_run

    _init_distributed(cfg.device)
    res = train_run(cfg, store=store, progress=not args.no_progress, refresh=args.refresh,
                    stop_at=args.stop_at)
    rank = dist.get_rank() if dist.is_initialized() else 0
    if rank == 0:
        if res is None:
            print(f"stopped at step {args.stop_at}; the checkpoint resumes it")
        else:
            if args.out:
                res.history.to_csv(args.out, index=False)
            print(res.history.tail(1).to_string(index=False))
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
