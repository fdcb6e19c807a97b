"""The composed run config, its presets, the ladder's cells and the command line (rtrlib.lm)."""

import dataclasses

import pytest

from rtrlib.lm.__main__ import main
from rtrlib.lm.config import (
    AdamWConfig,
    EvaluationConfig,
    OLMoRunConfig,
    TaskConfig,
    TextDataConfig,
)
from rtrlib.lm.injection import InjectionSchedule
from rtrlib.lm.ladder import LadderConfig, estimate_gpu_hours
from rtrlib.lm.models import build_model
from rtrlib.lm.presets import CPU_MINIATURE, SMOKE_MINIATURE
from rtrlib.lm.tokenizer import TokenizerConfig
from rtrlib.params import ParameterError


@pytest.mark.parametrize("make, name", [
    (lambda: TaskConfig(kind="mul"), "kind"),
    (lambda: TaskConfig(set_size=2), "set_size"),
    (lambda: TextDataConfig(seq_len=4), "seq_len"),
    (lambda: AdamWConfig(lr=0.0), "lr"),
    (lambda: AdamWConfig(warmup=-1), "warmup"),
    (lambda: EvaluationConfig(eval_every=0), "eval_every"),
    (lambda: InjectionSchedule(frequency=-0.1), "frequency"),
    (lambda: OLMoRunConfig(size="huge"), "size"),
    (lambda: OLMoRunConfig(steps=0), "steps"),
    (lambda: OLMoRunConfig(device="tpu"), "device"),
    # what only the whole run can check: an instance per sequence at most, S in the vocabulary
    (lambda: OLMoRunConfig(injection=InjectionSchedule(frequency=0.1)), "frequency"),
    (lambda: OLMoRunConfig(injection=InjectionSchedule(frequency=0.03, gap=64)), "gap"),
    (lambda: OLMoRunConfig(task=TaskConfig(set_size=300),
                           data=TextDataConfig(tokenizer=TokenizerConfig(vocab_size=512))),
     "set_size"),
])
def test_each_part_refuses_its_bad_values_by_name(make, name):
    with pytest.raises(ParameterError) as err:
        make()
    assert err.value.name == name


def test_the_cpu_miniature_is_chapter_6s_calibrated_setting():
    c = CPU_MINIATURE
    assert (c.data.tokenizer.vocab_size, c.data.seq_len, c.data.batch_size) == (1024, 32, 8)
    assert (c.task.set_size, c.optim.lr, c.steps * c.tokens_per_step // 1000) == (16, 6e-3, 99)
    assert SMOKE_MINIATURE.data.tokenizer.corpus.source == "stdlib"
    assert SMOKE_MINIATURE.optim == c.optim and SMOKE_MINIATURE.size == "tiny"


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    opt = AdamWConfig(lr=1e-2, warmup=10)
    assert opt.lr_at(0, 100) == pytest.approx(1e-3)
    assert opt.lr_at(9, 100) == pytest.approx(1e-2)
    assert opt.lr_at(99, 100) == pytest.approx(1e-3, rel=0.01)
    model = build_model("tiny", 300, 0)
    groups = opt.build(model).param_groups
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    assert all(p.ndim >= 2 for p in groups[0]["params"])


def test_ladder_cells_are_the_base_with_their_axes_replaced():
    base = SMOKE_MINIATURE.replace(optim=AdamWConfig(lr=1e-3, warmup=50), seed=5)
    lad = LadderConfig(base=base, kinds=("cmp", "add"), sizes=("tiny", "xl"),
                       frequencies=(0.01, 0.005), gaps=(0, 2), seeds=(0, 1), tokens=12_800)
    runs = lad.runs()
    assert len(runs) == 2 * 2 * 2 * 2 * 2 and lad.steps == 50
    first = runs[0]
    assert first == base.replace(steps=50, injection=InjectionSchedule(0.01, 0),
                                 optim=AdamWConfig(lr=1e-3, warmup=12), seed=0)
    xl = [r for r in runs if r.size == "xl"]
    assert {r.optim.lr for r in xl} == {1e-3} and {r.task.kind for r in runs} == {"cmp", "add"}
    groups = lad.seed_groups()
    # a seed is a replicate: initial weights, batches and the task draw
    assert all(len(g) == 2 and [r.task.seed for r in g] == [0, 1] and
               dataclasses.replace(g[1], seed=0, task=g[1].task.replace(seed=0)) == g[0]
               for g in groups)
    fixed = dataclasses.replace(lad, same_task=True, base=base.replace(
        task=base.task.replace(seed=7)))
    assert {r.task.seed for r in fixed.runs()} == {7}
    assert estimate_gpu_hours(lad) > 0


@pytest.mark.parametrize("kw, name", [({"sizes": ()}, "sizes"), ({"kinds": ("mul",)}, "kinds"),
                                      ({"tokens": 10}, "tokens"),
                                      ({"frequencies": (0.5,)}, "frequency")])
def test_ladder_refuses_bad_axes(kw, name):
    with pytest.raises(ParameterError) as err:
        LadderConfig(**kw)
    assert err.value.name == name


def test_command_line_options_are_the_config_fields(capsys):
    from rtrlib.cli import config_from_args
    from rtrlib.lm.__main__ import _parser

    args = _parser().parse_args(["train", "--size", "small", "--steps", "7",
                                 "--optim.lr", "0.001", "--injection.gap", "0",
                                 "--data.tokenizer.corpus.source", "stdlib",
                                 "--task.kind", "add"])
    cfg = config_from_args(args, OLMoRunConfig)
    tokenizer = CPU_MINIATURE.data.tokenizer
    corpus = dataclasses.replace(tokenizer.corpus, source="stdlib")
    assert cfg == CPU_MINIATURE.replace(
        size="small", steps=7, optim=CPU_MINIATURE.optim.replace(lr=0.001),
        task=TaskConfig(kind="add"), data=CPU_MINIATURE.data.replace(
            tokenizer=dataclasses.replace(tokenizer, corpus=corpus)))
    lad = config_from_args(_parser().parse_args(
        ["ladder", "--sizes", "tiny", "small", "--base.optim.lr", "0.002", "--out", "x.csv"]),
        LadderConfig)
    assert lad.sizes == ("tiny", "small") and lad.base.optim.lr == 0.002
    with pytest.raises(SystemExit):
        _parser().parse_args(["train", "--task.kind", "mul"])
    assert main(["train", "--task.set-size", "2"]) == 2
    assert "set_size" in capsys.readouterr().err
    assert main(["sizes"]) == 0 and "xxxl" in capsys.readouterr().out
