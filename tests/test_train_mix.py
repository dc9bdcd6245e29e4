"""Several paired folders in stage denoiser (data.train_dir, data.train_more, "PATH*K"): the pairs they give,
a pair listed K times held once, bad entries in one line with nothing written, and a run that trains on them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pngan.cli import main
from pngan.errors import PnganError
from pngan.train.data import CropBank, folder_and_repeat, training_pairs

DN = ["model.denoiser_config={features=8, depth=3}", "model.denoiser_weights=", "data.patch=16", "data.batch=2",
      "run.val_every=0", "run.log_every=1", "run.threads=1", "optim.steps=2", "--no-progress"]


@pytest.fixture(scope="module")
def sets(tmp_path_factory, random_pairs) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sets")
    kw = dict(noise=0.05, tokens=("GT", "NOISY"))
    return random_pairs(root / "dslr", ("a", "b", "c"), 0, **kw), random_pairs(root / "phone", ("p",), 1, **kw)


def test_entries_and_repeats(sets):
    dslr, phone = sets
    assert folder_and_repeat(f"{phone}*4", "k") == (str(phone), 4)
    assert folder_and_repeat(str(phone), "k") == (str(phone), 1)
    pairs = training_pairs(str(dslr), (f"{phone}*4",))
    assert [p.id for p in pairs] == ["a", "b", "c", "p", "p", "p", "p"]
    assert [p.id for p in training_pairs(f"{dslr}*2")] == ["a", "b", "c"] * 2


@pytest.mark.parametrize("entry, msg", [("X*0", "K >= 1"), ("X*two", "K >= 1"), ("*3", "K >= 1")])
def test_bad_repeat_is_one_clear_error(sets, entry, msg):
    with pytest.raises(PnganError, match=msg):
        training_pairs(str(sets[0]), (entry,))


def test_missing_or_empty_folders_are_named(sets, tmp_path):
    (tmp_path / "empty" / "input").mkdir(parents=True)
    (tmp_path / "empty" / "groundtruth").mkdir()
    with pytest.raises(PnganError, match="data.train_more: .*empty/input: folder has no images"):
        training_pairs(str(sets[0]), (str(tmp_path / "empty"),))
    with pytest.raises(PnganError, match="data.train_dir is not set"):
        training_pairs("", (str(sets[1]),))


def test_a_pair_listed_k_times_is_read_and_held_once(sets):
    dslr, phone = sets
    bank = CropBank(pairs=training_pairs(str(dslr), (f"{phone}*3",)), patch=16, batch=2)
    assert len(bank.clean) == 6
    assert bank.clean[3] is bank.clean[4] is bank.clean[5] and bank.noisy[3] is bank.noisy[5]
    assert bank.clean[0] is not bank.clean[1]


def test_training_on_several_folders_runs_and_bad_entries_write_nothing(sets, tmp_path):
    dslr, phone = sets
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["train", "denoiser", f"data.train_dir={dslr}", f'data.train_more=["{phone}*3"]',
                                  f"run.out_dir={out}", *DN])
    assert r.exit_code == 0, r.output
    assert (out / "losses.csv").read_text().count("\n") == 3  # header + 2 steps
    for bad, msg in ((f'data.train_more=["{phone}*0"]', "K >= 1"),
                     (f'data.train_more=["{tmp_path / "nope"}"]', "nope")):
        r = CliRunner().invoke(main, ["train", "denoiser", f"data.train_dir={dslr}", bad,
                                      f"run.out_dir={tmp_path / 'bad'}", *DN])
        assert r.exit_code == 1 and msg in r.output and "Traceback" not in r.output, r.output
        assert not (tmp_path / "bad").exists()
    r = CliRunner().invoke(main, ["train", "pngan", f"data.train_dir={dslr}", f'data.train_more=["{phone}*0"]',
                                  f"run.out_dir={tmp_path / 'g'}", "optim.steps=1", "--no-progress"])
    assert r.exit_code == 1 and "K >= 1" in r.output, r.output  # stage pngan reads data.train_more too
    assert not (tmp_path / "g").exists()


def test_a_repeated_train_dir_validates_on_its_folder_without_a_val_dir(sets, tmp_path):
    dslr, _ = sets
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["train", "denoiser", f"data.train_dir={dslr}*2", f"run.out_dir={out}",
                                  *DN, "run.val_every=2"])
    assert r.exit_code == 0, r.output
    assert (out / "val.csv").read_text().count("\n") == 2  # header + the validation at step 2
