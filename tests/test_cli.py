"""Command-line options derived from config dataclasses (rtrlib.cli)."""

import argparse
import dataclasses
import typing

import pytest

from rtrlib.cli import add_config_options, config_kwargs


@dataclasses.dataclass(frozen=True)
class Demo:
    widths: tuple[int, ...] = (1,)
    rates: tuple[float, ...] = (0.5,)
    lr: float = 0.1
    steps: int = 3
    name: str = "a"
    flag: bool = False
    spectra: tuple[tuple[float, ...], ...] = ()
    progress: bool = dataclasses.field(default=False, compare=False)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    add_config_options(p, Demo)
    p.add_argument("--out")
    return p


def test_given_options_become_typed_fields_and_the_rest_keep_defaults():
    a = _parser().parse_args(["--widths", "2", "4", "--rates", "0.25", "--lr", "0.5",
                              "--flag", "--name", "b", "--out", "x.csv"])
    kw = config_kwargs(a, Demo)
    assert kw == {"widths": (2, 4), "rates": (0.25,), "lr": 0.5, "flag": True, "name": "b"}
    assert Demo(**kw).steps == 3
    assert config_kwargs(_parser().parse_args(["--no-flag"]), Demo) == {"flag": False}


@pytest.mark.parametrize("argv", [["--spectra", "1"], ["--progress"], ["--steps", "x"]])
def test_unsupported_or_mistyped_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(argv)


def _leaf_options(cls: type, prefix: str = "") -> list[str]:
    """The option every (nested) field with a command-line form should get."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if f.name == "progress" or "tuple[tuple" in str(tp):
            continue
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            out += _leaf_options(tp, prefix + f.name + ".")
        else:
            out.append("--" + (prefix + f.name).replace("_", "-"))
    return out


@pytest.mark.parametrize("experiment", ["sweep", "interference", "retention", "levers"])
def test_each_toy_command_offers_every_config_field(experiment, capsys):
    from rtrlib.toy.__main__ import EXPERIMENTS, main

    with pytest.raises(SystemExit):
        main([experiment, "--help"])
    text = capsys.readouterr().out
    options = _leaf_options(EXPERIMENTS[experiment][0])
    assert "--run.steps" in options and "--optim.optimizer" in options
    missing = [o for o in options if o not in text]
    assert not missing
    assert "{sgd,adam}" in text and "{linear,relu}" in text  # closed sets are choices


@dataclasses.dataclass(frozen=True)
class Inner:
    lr: float = 0.1
    optimizer: str = dataclasses.field(default="sgd", metadata={"choices": ("sgd", "adam"),
                                                                 "help": "the optimizer"})


@dataclasses.dataclass(frozen=True)
class Outer:
    steps: int = 3
    n_features: int | tuple[int, ...] = 2
    optim: Inner = Inner()


def test_nested_configs_take_dotted_options_and_choices_are_closed(capsys):
    from rtrlib.cli import config_from_args

    p = argparse.ArgumentParser()
    add_config_options(p, Outer)
    cfg = config_from_args(p.parse_args(["--optim.lr", "0.5", "--n-features", "4"]), Outer)
    assert cfg == Outer(n_features=4, optim=Inner(lr=0.5))
    cfg = config_from_args(p.parse_args(["--n-features", "4", "5"]), Outer)
    assert cfg.n_features == (4, 5) and cfg.optim == Inner()
    with pytest.raises(SystemExit):
        p.parse_args(["--optim.optimizer", "lbfgs"])
    assert "invalid choice: 'lbfgs'" in capsys.readouterr().err
