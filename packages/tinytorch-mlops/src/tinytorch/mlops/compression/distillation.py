"""Knowledge distillation: train a small student to imitate a large teacher.

    history = distill(teacher, student, loader, optimizer, epochs=5, temperature=4.0, alpha=0.7)

What it teaches: a trained teacher knows more than the labels say. For a picture of a cat
its logits say "cat, somewhat dog, certainly not truck"; those relative probabilities
("dark knowledge", Hinton et al. 2015) are a richer training signal than the one-hot label.
The student minimises

    alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
      + (1 - alpha) * cross_entropy(student, labels)

The temperature T > 1 softens both distributions so the small probabilities matter; the
T^2 factor keeps the soft term's gradient on the same scale as the hard term's as T
changes (the gradient of the softened KL shrinks like 1/T^2).

Systems lesson: the teacher runs forward only (no_grad, no saved activations), so a
distillation step costs one teacher forward plus one student forward and backward;
the deployed student is what gets cheaper.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor, nn, no_grad
from tinytorch.core.bad_input import as_array, number_in
from tinytorch.core.nn import functional as F


def distillation_loss(student_logits: Tensor, teacher_logits, targets=None,
                      temperature: float = 4.0, alpha: float = 0.7) -> Tensor:
    """The loss above, averaged over the batch. `targets=None` means soft term only."""
    op = "distillation_loss"
    number_in(op, "temperature", temperature, 0.0, include_low=False)
    number_in(op, "alpha", alpha, 0.0, 1.0)
    if not isinstance(student_logits, Tensor) or student_logits.dtype.kind != "f":
        raise TypeError(f"{op}: student_logits must be a floating Tensor, got "
                        f"{getattr(student_logits, 'dtype', type(student_logits).__name__)}")
    teacher = as_array(op, "teacher_logits", teacher_logits)
    if teacher.shape != student_logits.shape:
        raise ValueError(f"distillation_loss: teacher logits {teacher.shape} and student logits "
                         f"{student_logits.shape} must have the same shape")
    if targets is None and alpha < 1.0:
        raise ValueError("distillation_loss: targets are required when alpha < 1")
    scaled = teacher.astype(student_logits.dtype) / temperature
    log_p = scaled - scaled.max(axis=-1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=-1, keepdims=True))  # teacher log-probs
    log_q = F.log_softmax(student_logits / temperature, dim=-1)
    soft = (Tensor(np.exp(log_p)) * (Tensor(log_p) - log_q)).sum(dim=-1).mean()
    loss = soft * (alpha * temperature ** 2)
    if alpha < 1.0:
        loss = loss + F.cross_entropy(student_logits, targets) * (1.0 - alpha)
    return loss


def distill(teacher: nn.Module, student: nn.Module, loader, optimizer, epochs: int = 1,
            temperature: float = 4.0, alpha: float = 0.7) -> list[float]:
    """Train `student` on (inputs, labels) batches from `loader`; returns the mean loss of
    every epoch. The teacher is frozen in eval mode."""
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"distill: epochs must be a positive int, got {epochs!r}")
    teacher.eval()
    student.train()
    history = []
    for _ in range(epochs):
        total, batches = 0.0, 0
        for inputs, labels in loader:
            with no_grad():
                teacher_logits = teacher(inputs)
            loss = distillation_loss(student(inputs), teacher_logits, labels, temperature, alpha)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        if batches == 0:
            raise ValueError("distill: the loader yielded no batch")
        history.append(total / batches)
    student.eval()
    return history
