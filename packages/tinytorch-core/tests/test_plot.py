"""tinytorch.core.plot and the Trainer's History: files, pictures, and the missing extra."""

import json
import sys

import numpy as np
import pytest
from picture_checks import assert_picture, assert_pictures_differ

import tinytorch.core as tt
from tinytorch.core import nn, optim
from tinytorch.core.data import DataLoader, TensorDataset
from tinytorch.core.plot import (
    PLOT_EXTRA,
    PlottingUnavailableError,
    new_figure,
    read_png,
    save_figure,
    save_report,
)
from tinytorch.core.training import History, Trainer


def _history(scale: float = 1.0) -> History:
    return History({"train_loss": [2.0 * scale, 1.0 * scale, 0.5 * scale],
                    "val_loss": [2.2, 1.4, 0.9], "train_acc": [0.3, 0.6, 0.8],
                    "val_acc": [0.25, 0.55, 0.7], "lr": [0.1, 0.05, 0.01],
                    "time": [1.0, 1.1, 0.9]})


def test_save_report_writes_png_and_svg(tmp_path):
    figure = new_figure(4, 3)
    figure.subplots().plot([0, 1, 2], [0, 1, 0])
    written = save_report(figure, tmp_path / "report.png")
    assert [p.name for p in written] == ["report.png", "report.svg"]
    assert_picture(written[0], min_size=(400, 300))
    assert written[1].read_text().lstrip().startswith("<?xml")
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_save_figure_rejects_unknown_type(tmp_path):
    with pytest.raises(ValueError, match=r"save_figure: .*'\.jpg'; expected one of \.png"):
        save_figure(new_figure(2, 2), tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="new_figure: width and height"):
        new_figure(0, 2)


def test_read_png_rejects_non_png(tmp_path):
    path = tmp_path / "fake.png"
    path.write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match="read_png: .* is not a PNG"):
        read_png(path)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import now fails
    with pytest.raises(PlottingUnavailableError, match=r'pip install "tinytorch-core\[plot\]"'):
        new_figure(2, 2)
    with pytest.raises(PlottingUnavailableError, match=r"tinytorch-core\[plot\]"):
        _history().plot()
    assert PLOT_EXTRA == "tinytorch-core[plot]"


def test_history_panels_pair_train_and_val():
    assert _history().panels() == [("loss", ["train_loss", "val_loss"]),
                                   ("acc", ["train_acc", "val_acc"]),
                                   ("lr", ["lr"]), ("time", ["time"])]


def test_history_csv_and_json_round_trip(tmp_path):
    history = _history()
    history.to_csv(tmp_path / "h.csv")
    history.to_json(tmp_path / "h.json")
    assert History.from_csv(tmp_path / "h.csv") == history
    assert History.from_json(tmp_path / "h.json") == history
    header, first = (tmp_path / "h.csv").read_text().splitlines()[:2]
    assert header == "epoch,train_loss,val_loss,train_acc,val_acc,lr,time"
    assert first.startswith("1,2.0,2.2,")
    assert json.loads((tmp_path / "h.json").read_text())["val_acc"] == [0.25, 0.55, 0.7]


def test_history_from_files_rejects_other_content(tmp_path):
    (tmp_path / "bad.json").write_text('{"loss": "high"}')
    with pytest.raises(ValueError, match="History.from_json: .* is not a history"):
        History.from_json(tmp_path / "bad.json")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="History.from_csv: .* no 'epoch,...' header"):
        History.from_csv(tmp_path / "bad.csv")


def test_history_plot_is_a_picture_of_its_data(tmp_path):
    _history().plot(tmp_path / "a.png")
    _history(scale=3.0).plot(tmp_path / "b.png")
    a = assert_picture(tmp_path / "a.png", min_size=(1500, 300))
    b = assert_picture(tmp_path / "b.png", min_size=(1500, 300))
    assert_pictures_differ(a, b)
    with pytest.raises(ValueError, match="History.plot: the history is empty"):
        History().plot()


def test_trainer_history_is_plottable(tmp_path):
    tt.manual_seed(0)
    x = tt.randn(64, 4)
    y = (x.numpy()[:, 0] > 0).astype(np.int64)
    loader = DataLoader(TensorDataset(x, tt.tensor(y)), batch_size=16)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.5), nn.CrossEntropyLoss(),
                      progress=False)
    history = trainer.fit(loader, loader, epochs=3)
    assert isinstance(history, History) and history.epochs == 3
    assert set(history) >= {"train_loss", "val_loss", "train_acc", "val_acc", "lr", "time"}
    trainer.plot_history(tmp_path / "history.png", title="toy run")
    assert_picture(tmp_path / "history.png")
    history.to_csv(tmp_path / "history.csv")
    assert len((tmp_path / "history.csv").read_text().splitlines()) == 4
