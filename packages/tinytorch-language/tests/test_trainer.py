"""Text windows, the learning-rate schedule and LanguageModelTrainer (the seeds' API)."""

import math

import numpy as np
import pytest

import tinytorch.core as tt
from tinytorch.core.data import DataLoader
from tinytorch.core.optim import AdamW
from tinytorch.language import (
    CharTokenizer,
    LanguageModelTrainer,
    RandomWindowLoader,
    TextWindowDataset,
    TinyGPT,
    load_pretrained,
    random_windows,
)
from tinytorch.language.trainer import gpt_param_groups, language_model_loss, warmup_cosine

IDS = np.arange(100, dtype=np.int64) * 7 % 101  # distinct values: a window is identifiable


# ------------------------------------------------------------------ windows
def test_random_windows_are_shifted_pairs_from_the_corpus():
    x, y = random_windows(IDS, batch_size=32, block_size=8, generator=tt.Generator(0))
    assert x.shape == y.shape == (32, 8) and x.dtype == np.int64
    np.testing.assert_array_equal(x.array[:, 1:], y.array[:, :-1])
    starts = np.array([np.flatnonzero(row[0] == IDS)[0] for row in x.array])
    np.testing.assert_array_equal(x.array, IDS[starts[:, None] + np.arange(8)])
    assert starts.max() <= IDS.size - 9  # the target window still fits
    again, _ = random_windows(IDS, 32, 8, generator=tt.Generator(0))
    np.testing.assert_array_equal(again.array, x.array)


def test_text_window_dataset_walks_non_overlapping_windows():
    ds = TextWindowDataset(IDS, block_size=8)
    assert len(ds) == (100 - 1) // 8
    xs, ys = ds.__getitems__(np.arange(len(ds)))
    np.testing.assert_array_equal(xs.array.reshape(-1), IDS[:len(ds) * 8])
    np.testing.assert_array_equal(ys.array.reshape(-1), IDS[1:len(ds) * 8 + 1])
    x3, y3 = ds[3]
    np.testing.assert_array_equal(x3.array, IDS[24:32])
    batches = list(DataLoader(ds, batch_size=5))
    assert [b[0].shape[0] for b in batches] == [5, 5, 2]
    dense = TextWindowDataset(IDS, block_size=8, stride=1)
    assert len(dense) == 100 - 8


def test_window_errors():
    with pytest.raises(ValueError, match="10 tokens are too few for one window of block_size 10"):
        TextWindowDataset(np.arange(10), 10)
    with pytest.raises(ValueError, match="expected a 1-D array of integer token ids"):
        random_windows(np.zeros((2, 5), dtype=np.int64), 2, 2)
    with pytest.raises(IndexError, match="index out of range for 12 windows"):
        TextWindowDataset(IDS, 8)[12]
    loader = RandomWindowLoader(IDS, 4, 8, num_batches=3)
    assert len(loader) == 3 and len(list(loader)) == 3


# ------------------------------------------------------------------ optimizer and schedule
def test_weight_decay_only_on_matrices():
    model = TinyGPT(10, 8, 2, 1, 8)
    decay, no_decay = gpt_param_groups(model, 0.1)
    assert all(p.ndim == 2 for p in decay["params"]) and decay["weight_decay"] == 0.1
    assert all(p.ndim == 1 for p in no_decay["params"]) and no_decay["weight_decay"] == 0.0
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_warmup_cosine_is_nanogpts_schedule():
    model = TinyGPT(10, 8, 2, 1, 8)
    optimizer = AdamW(model.parameters(), lr=1e-3)
    warmup, total, min_lr = 10, 50, 1e-4
    scheduler = warmup_cosine(optimizer, warmup, total, min_lr)
    for step in range(total):
        if step < warmup:
            expected = 1e-3 * (step + 1) / (warmup + 1)
        else:
            ratio = (step - warmup) / (total - warmup)
            expected = min_lr + 0.5 * (1 + math.cos(math.pi * ratio)) * (1e-3 - min_lr)
        assert optimizer.param_groups[0]["lr"] == pytest.approx(expected), step
        optimizer.step()
        scheduler.step()


# ------------------------------------------------------------------ LanguageModelTrainer
TEXT = ("To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
        "The slings and arrows of outrageous fortune,\n") * 40


def test_seeds_api_trains_and_generates(tmp_path):
    tt.manual_seed(0)
    tokenizer = CharTokenizer()
    tokenizer.fit(TEXT)
    model = TinyGPT(vocab_size=tokenizer.get_vocab_size(), d_model=32, num_heads=4,
                    num_layers=2, max_seq_len=32)
    trainer = LanguageModelTrainer(model, tokenizer, batch_size=16, warmup_steps=10,
                                   lr=1e-2, progress=False)
    before = trainer.evaluate(TEXT[-800:])
    assert before == pytest.approx(math.log(tokenizer.get_vocab_size()), abs=0.3)
    history = trainer.fit(TEXT, epochs=2, steps_per_epoch=60)
    assert set(history) >= {"train_loss", "val_loss", "lr", "time"}
    assert len(history["val_loss"]) == 2 and trainer.global_step == 120
    assert history["val_loss"][-1] < 0.3 * before  # a repeated verse is easy to learn
    assert history["train_loss"][1] < history["train_loss"][0]

    text = trainer.generate_text("To be", max_length=40, seed=0)
    assert isinstance(text, str) and text.startswith("To be") and len(text) == 40
    assert trainer.generate_text("To be", max_length=40, seed=0) == text
    greedy = trainer.generate_text("To be, or not", max_new_tokens=10, temperature=0)
    assert greedy == "To be, or not to be, th"

    loaded, loaded_tokenizer, meta = load_pretrained(trainer.save(tmp_path / "model"))
    assert meta["global_step"] == 120
    ids = loaded_tokenizer.encode_array("To be")[None]
    np.testing.assert_array_equal(loaded(ids).array, model(ids).array)


def test_trainer_checks_vocabulary_and_arguments():
    tokenizer = CharTokenizer().fit(TEXT)
    small = TinyGPT(vocab_size=5, d_model=8, num_heads=2, num_layers=1, max_seq_len=8)
    trainer = LanguageModelTrainer(small, tokenizer, progress=False)
    with pytest.raises(ValueError, match="the model's vocab_size is 5"):
        trainer.fit(TEXT)
    with pytest.raises(ValueError, match="val_fraction must be in"):
        LanguageModelTrainer(small, tokenizer, val_fraction=1.0)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        LanguageModelTrainer(small, tokenizer, batch_size=0)
    model = TinyGPT(vocab_size=tokenizer.get_vocab_size(), d_model=8, num_heads=2,
                    num_layers=1, max_seq_len=8)
    with pytest.raises(ValueError, match="the prompt is empty"):
        LanguageModelTrainer(model, tokenizer).generate_text("")


def test_per_epoch_validation_can_read_a_fixed_spread_of_windows():
    tokenizer = CharTokenizer().fit(TEXT)
    model = TinyGPT(vocab_size=tokenizer.get_vocab_size(), d_model=8, num_heads=2,
                    num_layers=1, max_seq_len=8)
    trainer = LanguageModelTrainer(model, tokenizer, eval_batch_size=4, progress=False)
    ids = tokenizer.encode_array(TEXT)
    every = np.concatenate([x.array for x, _ in trainer.validation_loader(ids)])
    chosen = np.concatenate([x.array for x, _ in trainer.validation_loader(ids, windows=5)])
    spread = np.round(np.linspace(0, len(every) - 1, 5)).astype(int)
    np.testing.assert_array_equal(chosen, every[spread])  # first and last window included
    again = np.concatenate([x.array for x, _ in trainer.validation_loader(ids, windows=5)])
    np.testing.assert_array_equal(again, chosen)  # the same windows every epoch
    assert len(trainer.validation_loader(ids, windows=10**6).dataset) == len(every)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="val_windows must be a positive int"):
            trainer.validation_loader(ids, windows=bad)
    history = trainer.fit(TEXT, epochs=1, steps_per_epoch=3, val_windows=5)
    x, y = next(iter(DataLoader(trainer.validation_loader(trainer.split(TEXT)[1], 5).dataset,
                                batch_size=5)))
    with tt.no_grad():
        expected = language_model_loss(model.eval()(x), y).item()  # 5 windows, equal weight
    assert history["val_loss"] == [pytest.approx(expected, rel=1e-5)]
