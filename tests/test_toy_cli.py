"""The command line: python -m rtrlib.toy EXPERIMENT."""

from __future__ import annotations

import pandas as pd
import pytest

from rtrlib.toy.__main__ import main


def test_cli_sweep_writes_tidy_csv(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RTRLIB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "sweep.csv"
    feats = tmp_path / "features.csv"
    assert main(["sweep", "--mixture.n-tasks", "3", "--mixture.n-features", "2",
                 "--models.widths", "1", "3", "--run.steps", "12", "--run.batch-size", "16",
                 "--n-logs", "3", "--out", str(out), "--features-out", str(feats)]) == 0
    df = pd.read_csv(out)
    assert {"width", "seed", "task", "pi", "step", "task_loss"} <= set(df.columns)
    assert set(df.width) == {1, 3} and df.step.max() == 12
    assert len(pd.read_csv(feats)) > 0
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("experiment, extra", [
    ("interference", ["--n-logs", "2"]),
    ("retention", ["--gaps", "1", "2", "--grad-every", "2"]),
    ("levers", ["--rates", "1", "2", "--gaps", "1", "2", "--base-widths", "2",
                "--base-gap", "2", "--hold", "4", "--trace-every", "4"]),
])
def test_cli_rare_task_experiments_write_csv(experiment, extra, tmp_path, monkeypatch):
    monkeypatch.setenv("RTRLIB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / f"{experiment}.csv"
    assert main([experiment, "--mixture.n-common", "2", "--mixture.features-per-task", "2",
                 "--models.widths", "2", "4", "--run.steps", "8", "--run.batch-size", "16",
                 *extra, "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert len(df) > 0 and {"width"} <= set(df.columns)


@pytest.mark.parametrize("argv, field", [
    (["sweep", "--models.widths", "0"], "widths"),
    (["retention", "--gaps", "1", "3", "--run.steps", "4"], "steps"),   # 3 does not divide 4
    (["levers", "--optim.optimizer", "lbfgs"], "invalid choice"),
])
def test_cli_rejects_invalid_config(argv, field, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert field in capsys.readouterr().err
