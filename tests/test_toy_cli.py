"""The command line: python -m rtrlib.toy sweep."""

from __future__ import annotations

import pandas as pd
import pytest

from rtrlib.toy.__main__ import main


def test_cli_sweep_writes_tidy_csv(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RTRLIB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "sweep.csv"
    feats = tmp_path / "features.csv"
    assert main(["sweep", "--n-tasks", "3", "--n-features", "2", "--widths", "1", "3",
                 "--steps", "12", "--batch-size", "16", "--n-logs", "3", "--out", str(out),
                 "--features-out", str(feats)]) == 0
    df = pd.read_csv(out)
    assert {"width", "seed", "task", "pi", "step", "task_loss"} <= set(df.columns)
    assert set(df.width) == {1, 3} and df.step.max() == 12
    assert len(pd.read_csv(feats)) > 0
    assert "wrote" in capsys.readouterr().out


def test_cli_rejects_invalid_config(capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--widths", "0"])
    assert "widths" in capsys.readouterr().err
