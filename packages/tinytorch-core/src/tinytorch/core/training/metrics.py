"""Classification metrics: accuracy (top-k) and the confusion matrix.

What it teaches: the loss is what training minimizes, a metric is what you report. They
disagree in useful ways: accuracy only asks whether the largest logit is the right one,
so it can stay flat while the loss still improves confidence.

Systems lesson: both metrics are single vectorized passes. The confusion matrix is one
`np.bincount` over `target * C + prediction`: each (true, predicted) pair becomes one
bin of a C*C histogram, so N samples cost O(N + C^2) with no Python loop.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..tensor import Tensor


def accuracy(input, target, top_k: int = 1) -> float:  # noqa: A002 - PyTorch's name
    """Fraction of samples whose target class is predicted.

    `input` is either scores/logits with classes along dim 1 (`(N, C)` or `(N, C, ...)`
    for targets `(N,)` or `(N, ...)`), or integer class predictions of the target's
    shape. With logits, a sample counts as correct when the target is the argmax
    (`top_k=1`) or among the `top_k` highest scores (ties with the target's score count
    in its favour).
    """
    scores, labels = _as_array(input), _as_array(target)
    _check_labels("accuracy", labels)
    if not isinstance(top_k, numbers.Integral) or isinstance(top_k, bool) or top_k < 1:
        raise ValueError(f"accuracy: top_k must be a positive int, got {top_k!r}")
    if scores.shape == labels.shape:
        if scores.dtype.kind not in "iub":
            raise TypeError(
                f"accuracy: got {scores.dtype} predictions of the same shape as the targets "
                f"{labels.shape}; pass logits of shape (N, C, ...) or integer class "
                "predictions (for binary outputs threshold them first: (probs > 0.5).long())"
            )
        if top_k != 1:
            raise ValueError(f"accuracy: top_k={top_k} needs scores of shape (N, C), got "
                             f"class predictions of shape {scores.shape}")
        return float(np.mean(scores == labels))
    logits = _class_scores("accuracy", scores, labels)
    num_classes = logits.shape[-1]
    if top_k > num_classes:
        raise ValueError(f"accuracy: top_k={top_k} is larger than the number of classes "
                         f"({num_classes})")
    # BEGIN SOLUTION
    if top_k == 1:
        return float(np.mean(logits.argmax(axis=-1) == labels))
    target_scores = np.take_along_axis(logits, labels[..., None], axis=-1)
    rank = (logits > target_scores).sum(axis=-1)  # classes scored strictly higher
    return float(np.mean(rank < top_k))
    # END SOLUTION


def confusion_matrix(preds, target, num_classes: int) -> Tensor:
    """`(num_classes, num_classes)` int64 counts: row = true class, column = predicted.

    `preds` are class predictions of the target's shape, or logits with classes along
    dim 1 (the argmax is taken).
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) \
            or num_classes < 1:
        raise ValueError(f"confusion_matrix: num_classes must be a positive int, got "
                         f"{num_classes!r}")
    predicted, labels = _as_array(preds), _as_array(target)
    _check_labels("confusion_matrix", labels, num_classes)
    if predicted.shape != labels.shape:
        logits = _class_scores("confusion_matrix", predicted, labels)
        if logits.shape[-1] != num_classes:
            raise ValueError(f"confusion_matrix: logits have {logits.shape[-1]} classes but "
                             f"num_classes={num_classes}")
        predicted = logits.argmax(axis=-1)
    _check_labels("confusion_matrix", predicted, num_classes, name="preds")
    pairs = labels.ravel().astype(np.int64) * num_classes + predicted.ravel()
    counts = np.bincount(pairs, minlength=num_classes * num_classes)
    return Tensor(counts.reshape(num_classes, num_classes).astype(np.int64))


# ---------------------------------------------------------------- helpers


def _as_array(value) -> np.ndarray:
    return value.array if isinstance(value, Tensor) else np.asarray(value)


def _check_labels(op: str, labels: np.ndarray, num_classes: int | None = None,
                  name: str = "target") -> None:
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must hold integer class indices, got dtype "
                        f"{labels.dtype}")
    if labels.size == 0:
        raise ValueError(f"{op}: {name} is empty (shape {labels.shape}); nothing to measure")
    if num_classes is not None:
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= num_classes:
            raise ValueError(f"{op}: {name} values must be in [0, {num_classes}), got values "
                             f"from {low} to {high}")


def _class_scores(op: str, scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Scores with the class dimension (dim 1) moved last, checked against the labels."""
    if scores.ndim != labels.ndim + 1 or scores.shape[:1] + scores.shape[2:] != labels.shape:
        raise ValueError(
            f"{op}: scores of shape {scores.shape} do not match targets of shape "
            f"{labels.shape}; expected scores of shape (N, C, ...) with the targets' other "
            "dimensions, or predictions of the targets' shape"
        )
    logits = np.moveaxis(scores, 1, -1)
    num_classes = logits.shape[-1]
    if int(labels.min()) < 0 or int(labels.max()) >= num_classes:
        raise ValueError(f"{op}: target values must be in [0, {num_classes}) for scores with "
                         f"{num_classes} classes, got values from {int(labels.min())} to "
                         f"{int(labels.max())}")
    return logits
