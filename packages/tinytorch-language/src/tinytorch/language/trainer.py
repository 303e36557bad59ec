"""LanguageModelTrainer: text in, trained language model out (the seeds' API).

    tokenizer = CharTokenizer().fit(text)
    model = TinyGPT(vocab_size=tokenizer.get_vocab_size(), d_model=256, num_heads=8,
                    num_layers=4)
    trainer = LanguageModelTrainer(model, tokenizer)
    history = trainer.fit(text, epochs=1)
    print(trainer.generate_text("To be or not to be", max_length=100))

What it teaches: nothing here is specific to language except the data. The loop is core's
`Trainer` (forward, cross-entropy, backward, clip, step, schedule, validation, progress
bar); this class only supplies random text windows as batches, flattens (batch, seq,
vocab) logits for the loss, and picks GPT-style defaults: AdamW with weight decay on
matrices only (not on biases and LayerNorm gains), betas (0.9, 0.99), gradient clipping
at 1.0, linear warmup then cosine decay of the learning rate to a tenth of its peak.

Systems lesson: an epoch here is `len(train_tokens) // (batch_size * block_size)` steps,
so on average every token is a prediction target once per epoch. Each step's cost is
fixed by batch x block, not by the corpus size: a 1 MB and a 1 GB corpus train at the
same tokens/s.
"""

from __future__ import annotations

import numbers

import numpy as np

import tinytorch.core.nn.functional as F
from tinytorch.core.autograd import no_grad
from tinytorch.core.data import DataLoader, Subset
from tinytorch.core.optim import AdamW
from tinytorch.core.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
from tinytorch.core.random import Generator
from tinytorch.core.training import History, Trainer

from .data import RandomWindowLoader, TextWindowDataset
from .generation import generate
from .pretrained import save_pretrained


def language_model_loss(logits, targets):
    """Mean cross-entropy of (batch, seq, vocab) logits against (batch, seq) next tokens."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def gpt_param_groups(model, weight_decay: float) -> list[dict]:
    """Decay the weight matrices (2-D and up); leave biases and LayerNorm parameters alone."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def warmup_cosine(optimizer, warmup_steps: int, total_steps: int, min_lr: float):
    """LinearLR warmup to the peak, then CosineAnnealingLR down to `min_lr` (nanoGPT's shape)."""
    decay_steps = max(1, total_steps - warmup_steps)
    cosine = CosineAnnealingLR(optimizer, T_max=decay_steps, eta_min=min_lr)
    if warmup_steps == 0:
        return cosine
    warmup = LinearLR(optimizer, start_factor=1.0 / (warmup_steps + 1), end_factor=1.0,
                      total_iters=warmup_steps)
    return SequentialLR(optimizer, [warmup, cosine], milestones=[warmup_steps])


class LanguageModelTrainer:
    """Train a next-token model (e.g. TinyGPT) on raw text with core's Trainer."""

    def __init__(self, model, tokenizer, optimizer=None, lr: float = 1e-3,
                 weight_decay: float = 0.1, betas: tuple[float, float] = (0.9, 0.99),
                 batch_size: int = 12, block_size: int | None = None, warmup_steps: int = 100,
                 min_lr: float | None = None, grad_clip: float | None = 1.0,
                 val_fraction: float = 0.1, eval_batch_size: int = 64, seed: int = 0,
                 progress: bool = True):
        self.model, self.tokenizer = model, tokenizer
        self.block_size = getattr(model, "max_seq_len", None) if block_size is None \
            else block_size
        for name, value in (("batch_size", batch_size), ("block_size", self.block_size),
                            ("eval_batch_size", eval_batch_size)):
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"LanguageModelTrainer: {name} must be a positive int, got "
                                 f"{value!r}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"LanguageModelTrainer: val_fraction must be in [0, 1), got "
                             f"{val_fraction}")
        if not isinstance(warmup_steps, numbers.Integral) or warmup_steps < 0:
            raise ValueError(f"LanguageModelTrainer: warmup_steps must be an int >= 0, got "
                             f"{warmup_steps!r}")
        self.optimizer = optimizer if optimizer is not None else AdamW(
            gpt_param_groups(model, weight_decay), lr=lr, betas=betas)
        self.lr = float(self.optimizer.param_groups[0].get("initial_lr",
                                                          self.optimizer.param_groups[0]["lr"]))
        self.min_lr = self.lr / 10 if min_lr is None else min_lr
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.warmup_steps, self.grad_clip = warmup_steps, grad_clip
        self.val_fraction, self.progress = val_fraction, progress
        self.generator = Generator(seed)
        self.history = History()  # per epoch; .plot(), .to_csv(), .to_json()
        self.global_step = 0

    # ------------------------------------------------------------ data
    def encode(self, text: str) -> np.ndarray:
        ids = self.tokenizer.encode_array(text)
        vocab = getattr(self.model, "vocab_size", None)
        if vocab is not None and ids.size and ids.max() >= vocab:
            raise ValueError(f"LanguageModelTrainer: the tokenizer produced id {ids.max()} but "
                             f"the model's vocab_size is {vocab}; build the model with "
                             f"vocab_size=tokenizer.get_vocab_size()")
        return ids

    def split(self, text: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Token ids of the first (1 - val_fraction) and the last val_fraction of `text`."""
        ids = self.encode(text)
        if self.val_fraction == 0.0:
            return ids, None
        cut = int(round(ids.size * (1.0 - self.val_fraction)))
        return ids[:cut], ids[cut:]

    def validation_loader(self, ids: np.ndarray, windows: int | None = None) -> DataLoader:
        """Non-overlapping windows, in order: every validation token scored once.

        With `windows`, only that many of them, evenly spaced over the text (the same ones
        every time): a cheaper per-epoch estimate for the curve, where the final score
        still reads every window."""
        dataset = TextWindowDataset(ids, self.block_size)
        if windows is not None:
            if isinstance(windows, bool) or not isinstance(windows, numbers.Integral) \
                    or windows < 1:
                raise ValueError(f"LanguageModelTrainer: val_windows must be a positive int, "
                                 f"got {windows!r}")
            if windows < len(dataset):
                spread = np.linspace(0, len(dataset) - 1, int(windows))
                dataset = Subset(dataset, np.round(spread).astype(np.int64))
        return DataLoader(dataset, batch_size=self.eval_batch_size)

    # ------------------------------------------------------------ training
    def fit(self, text: str, epochs: int = 1, steps_per_epoch: int | None = None,
            val_text: str | None = None, val_windows: int | None = None
            ) -> dict[str, list[float]]:
        """Train for `epochs` epochs of random windows; validate after each epoch.

        Without `val_text`, the last `val_fraction` of `text` is held out for validation.
        `val_windows` validates each epoch on that many evenly spaced windows instead of
        all of them (`evaluate` still reads every window).
        Returns the history: per epoch train_loss, val_loss, lr and time.
        """
        if val_text is None:
            train_ids, val_ids = self.split(text)
        else:
            train_ids, val_ids = self.encode(text), self.encode(val_text)
        if steps_per_epoch is None:
            steps_per_epoch = max(1, train_ids.size // (self.batch_size * self.block_size))
        if not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise ValueError(f"LanguageModelTrainer.fit: epochs must be a positive int, got "
                             f"{epochs!r}")
        total = epochs * steps_per_epoch
        scheduler = warmup_cosine(self.optimizer, min(self.warmup_steps, total // 2), total,
                                  self.min_lr)
        trainer = Trainer(self.model, self.optimizer, language_model_loss, scheduler=scheduler,
                          scheduler_interval="step", metrics={},
                          clip_grad_norm=self.grad_clip, progress=self.progress)
        train_loader = RandomWindowLoader(train_ids, self.batch_size, self.block_size,
                                          steps_per_epoch, generator=self.generator)
        val_loader = None if val_ids is None or val_ids.size <= self.block_size \
            else self.validation_loader(val_ids, val_windows)
        history = trainer.fit(train_loader, val_loader, epochs=epochs)
        self.global_step += trainer.global_step
        for key, values in history.items():
            self.history.setdefault(key, []).extend(values)
        return self.history

    @no_grad()
    def evaluate(self, text_or_ids) -> float:
        """Mean next-token cross-entropy over non-overlapping windows of the given text."""
        ids = self.encode(text_or_ids) if isinstance(text_or_ids, str) \
            else np.asarray(text_or_ids, dtype=np.int64)
        was_training = self.model.training
        self.model.eval()
        try:
            total, count = 0.0, 0
            for x, y in self.validation_loader(ids):
                total += float(language_model_loss(self.model(x), y).item()) * y.array.size
                count += y.array.size
        finally:
            self.model.train(was_training)
        return total / count

    # ------------------------------------------------------------ using the model
    def generate_text(self, prompt: str, max_length: int = 100, temperature: float = 0.8,
                      top_k: int | None = None, top_p: float | None = None,
                      seed: int | None = None, max_new_tokens: int | None = None) -> str:
        """Prompt + continuation. `max_length` counts tokens including the prompt (as in
        Hugging Face); `max_new_tokens`, when given, counts only new ones."""
        prompt_ids = self.encode(prompt)
        if prompt_ids.size == 0:
            raise ValueError("LanguageModelTrainer.generate_text: the prompt is empty; give "
                             "at least one character to continue from")
        new = max_length - prompt_ids.size if max_new_tokens is None else max_new_tokens
        ids = generate(self.model, prompt_ids, max(0, new), temperature=temperature,
                       top_k=top_k, top_p=top_p, seed=seed, generator=self.generator)
        return self.tokenizer.decode(ids)

    def save(self, directory, **metadata) -> str:
        """Model, config and tokenizer into `directory` (see `save_pretrained`)."""
        return save_pretrained(directory, self.model, self.tokenizer,
                               global_step=self.global_step, **metadata)
