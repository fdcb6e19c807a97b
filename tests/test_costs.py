"""The one GPU cost estimate (rtrlib.costs) and what uses it."""

import dataclasses
import json

import pytest

from rtrlib.costs import H100, Work, estimate, load_work, profile_estimates, summarise_work
from rtrlib.lm.config import OLMoRunConfig, TextDataConfig
from rtrlib.lm.injection import InjectionSchedule
from rtrlib.lm.ladder import LadderConfig, estimate_gpu_hours
from rtrlib.params import ParameterError


def _run(size: str = "small", steps: int = 100) -> OLMoRunConfig:
    return OLMoRunConfig(size=size, steps=steps, injection=InjectionSchedule(frequency=0.01),
                         data=TextDataConfig(seq_len=32, batch_size=8))


def test_olmo_work_is_6_n_t_and_monotone_in_tokens_and_parameters():
    from rtrlib.lm.models import param_counts

    w = _run().work(1024)
    n = param_counts("small", 1024)["non_embedding"]
    assert w.flops == 6.0 * n * 100 * 32 * 8 and w.steps == 100
    more_tokens, more_params = _run(steps=200).work(1024), _run("large").work(1024)
    assert more_tokens.flops == 2 * w.flops
    assert more_params.flops > w.flops
    s = [estimate([x]).seconds for x in (w, more_tokens, more_params)]
    assert s[0] < s[1] and s[0] < s[2]


def test_estimate_adds_flops_latency_and_chapter_overhead():
    w = Work(kind="olmo", flops=3e15, steps=1000, evals=10)
    e = estimate([w], chapters=2)
    expected = (3e15 / (H100.bf16_peak * H100.utilisation) + 1000 * H100.olmo_step_latency
                + 10 * H100.olmo_eval_latency + 2 * H100.chapter_overhead)
    assert e.seconds == pytest.approx(expected)
    # twice the GPUs: the runs' time halves, the chapters' overhead does not
    e2 = estimate([w], chapters=2, gpus=2)
    assert e2.seconds == pytest.approx((expected - 2 * H100.chapter_overhead) / 2
                                       + 2 * H100.chapter_overhead)
    assert "estimated" in e.text()
    assert estimate([Work(kind="cpu", flops=1e20)]).seconds == 0.0


@pytest.mark.parametrize("kw,name", [({"kind": "tpu"}, "kind"), ({"flops": -1.0}, "flops"),
                                     ({"steps": 1.5}, "steps"), ({"evals": -2}, "evals")])
def test_work_is_validated(kw, name):
    with pytest.raises(ParameterError, match=name):
        Work(**{"kind": "toy", **kw})


def test_estimate_is_validated():
    with pytest.raises(ParameterError, match="gpus"):
        estimate([], gpus=0)


def test_ladder_estimate_delegates_to_the_cost_function():
    lad = LadderConfig(base=_run(), sizes=("tiny", "small"), frequencies=(0.01,), tokens=25600)
    works = [r.work(r.data.tokenizer.vocab_size) for r in lad.runs()]
    assert estimate_gpu_hours(lad) == pytest.approx(estimate(works).gpu_hours)
    # a stated sustained rate replaces the utilisation
    slow = dataclasses.replace(H100, utilisation=1e12 / H100.bf16_peak)
    assert estimate_gpu_hours(lad, tflops=1.0) == pytest.approx(
        estimate(works, model=slow).gpu_hours)


def test_recorded_work_round_trips_and_is_summed_per_kind(tmp_path):
    works = [Work(kind="toy", flops=1e12, steps=10), Work(kind="toy", flops=2e12, steps=5),
             Work(kind="olmo", flops=1e18, steps=100, evals=3)]
    summed = summarise_work(works)
    assert [(w.kind, w.flops, w.steps) for w in summed] == [("olmo", 1e18, 100),
                                                            ("toy", 3e12, 15)]
    (tmp_path / "chapters" / "work").mkdir(parents=True)
    path = tmp_path / "chapters" / "work" / "gpu.json"
    path.write_text(json.dumps({"profile": "gpu", "gpus": 1,
                                "chapters": {"06_x": [w.as_dict() for w in summed]}}))
    assert load_work(path) == {"06_x": summed}
    per, total, gpus = profile_estimates("gpu", tmp_path)
    assert gpus == 1 and total.seconds == pytest.approx(per["06_x"].seconds)


def test_the_gpu_profile_fits_four_hours_on_one_gpu():
    """The committed record of the gpu profile's work (its dry run): at most 4 h, estimated."""
    recorded = profile_estimates("gpu")
    if recorded is None:
        pytest.skip("no recorded work for the gpu profile (chapters/work/gpu.json)")
    per, total, gpus = recorded
    assert gpus == 1 and len(per) == 8
    assert total.hours <= 4.0, total.text()
    paper = profile_estimates("paper")
    if paper is not None:
        assert paper[1].flops > total.flops  # the paper's scale costs more
