"""Drift detection: has the data the model sees in production moved away from its training data?

    detector = DriftDetector(reference_inputs, reference_predictions, num_classes=10)
    report = detector.check(live_inputs, live_predictions)
    report.drifted, report.drifted_features, report.prediction_psi

Two classic statistics, both computed here with numpy only:

- **PSI** (population stability index) compares binned proportions. Bins are deciles of the
  reference sample, so each holds 10% of it; with `e_i` the reference and `a_i` the live
  proportion of bin i, PSI = sum (a_i - e_i) * ln(a_i / e_i). Rule of thumb: below 0.1
  stable, 0.1 to 0.25 moderate shift, above 0.25 major shift. It works for categorical
  values too (predicted classes), where the bins are the categories.
- **Kolmogorov-Smirnov** (two-sample) takes the largest vertical gap D between the two
  empirical CDFs. Under "same distribution", sqrt(n m / (n + m)) D follows the Kolmogorov
  distribution, whose tail Q(x) = 2 sum_k (-1)^(k-1) exp(-2 k^2 x^2) is the p-value.

Checking many features at once multiplies false alarms (20 features at p < 0.05 raise one
false alarm in most checks), so the KS threshold is divided by the number of features
(Bonferroni).

Systems lesson: KS with large samples flags shifts too small to matter, PSI on small
samples is noisy; production systems use both, with thresholds, on windows of traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
_EPS = 1e-4  # floor for empty bins: ln(0) would make PSI infinite


def psi(reference, current, bins: int = 10) -> float:
    """PSI of a continuous variable, bins at the reference sample's quantiles."""
    reference, current = _sample("psi", reference), _sample("psi", current)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    expected = np.bincount(np.searchsorted(edges, reference, side="right"),
                           minlength=len(edges) + 1) / reference.size
    actual = np.bincount(np.searchsorted(edges, current, side="right"),
                         minlength=len(edges) + 1) / current.size
    return psi_from_proportions(expected, actual)


def categorical_psi(reference, current, num_classes: int) -> float:
    """PSI of a categorical variable (e.g. predicted class ids 0..num_classes-1)."""
    reference, current = (_labels("categorical_psi", x, num_classes) for x in (reference, current))
    expected = np.bincount(reference, minlength=num_classes) / reference.size
    actual = np.bincount(current, minlength=num_classes) / current.size
    return psi_from_proportions(expected, actual)


def psi_from_proportions(expected, actual) -> float:
    expected = np.clip(np.asarray(expected, dtype=np.float64), _EPS, None)
    actual = np.clip(np.asarray(actual, dtype=np.float64), _EPS, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks_2samp(reference, current) -> tuple[float, float]:
    """(statistic D, asymptotic p-value) of the two-sample Kolmogorov-Smirnov test."""
    a = np.sort(_sample("ks_2samp", reference))
    b = np.sort(_sample("ks_2samp", current))
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    statistic = float(np.max(np.abs(cdf_a - cdf_b)))
    effective_n = a.size * b.size / (a.size + b.size)
    return statistic, kolmogorov_sf(np.sqrt(effective_n) * statistic)


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (the limit of sqrt(n) * D_n)."""
    if x <= 0.0:
        return 1.0
    if x < 0.2:  # the alternating series converges slowly here; the tail is 1 to 1e-20
        return 1.0
    k = np.arange(1, 101)
    terms = 2.0 * (-1.0) ** (k - 1) * np.exp(-2.0 * k * k * x * x)
    return float(min(1.0, max(0.0, terms.sum())))


def _sample(op: str, values) -> np.ndarray:
    array = np.asarray(getattr(values, "data", values), dtype=np.float64).ravel()
    if array.size < 2:
        raise ValueError(f"{op}: needs at least 2 values, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{op}: the sample contains NaN or infinite values")
    return array


def _labels(op: str, values, num_classes: int) -> np.ndarray:
    array = np.asarray(getattr(values, "data", values)).ravel()
    if array.size == 0 or array.dtype.kind not in "iu":
        raise ValueError(f"{op}: expected a non-empty integer array of class ids, got dtype "
                         f"{array.dtype} and {array.size} values")
    if array.min() < 0 or array.max() >= num_classes:
        raise ValueError(f"{op}: class ids must be in [0, {num_classes}), got range "
                         f"[{array.min()}, {array.max()}]")
    return array.astype(np.int64)


@dataclass
class FeatureDrift:
    feature: int
    psi: float
    ks_statistic: float
    ks_pvalue: float
    drifted: bool


@dataclass
class DriftReport:
    features: list[FeatureDrift]
    prediction_psi: float | None
    prediction_drifted: bool
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def drifted_features(self) -> list[int]:
        return [f.feature for f in self.features if f.drifted]

    @property
    def input_drifted(self) -> bool:
        return bool(self.drifted_features)

    @property
    def drifted(self) -> bool:
        return self.input_drifted or self.prediction_drifted

    def as_dict(self) -> dict:
        return {"drifted": self.drifted, "drifted_features": self.drifted_features,
                "prediction_psi": self.prediction_psi,
                "prediction_drifted": self.prediction_drifted,
                "max_feature_psi": max((f.psi for f in self.features), default=0.0),
                "min_ks_pvalue": min((f.ks_pvalue for f in self.features), default=1.0),
                "thresholds": self.thresholds}


class DriftDetector:
    """Compare live windows of inputs (n, features) and predicted classes with a reference.

    A feature drifts when its PSI reaches `psi_threshold` or its KS p-value falls below
    `ks_alpha / num_features`. Predictions drift when their categorical PSI reaches
    `psi_threshold`.
    """

    def __init__(self, reference_inputs, reference_predictions=None, num_classes: int | None = None,
                 psi_threshold: float = PSI_MAJOR, ks_alpha: float = 0.01, bins: int = 10):
        X = np.asarray(getattr(reference_inputs, "data", reference_inputs), dtype=np.float64)
        if X.ndim < 2 or X.shape[0] < 2 * bins:
            raise ValueError(f"DriftDetector: reference_inputs must be (n, ...) with n >= "
                             f"{2 * bins} samples, got shape {X.shape}")
        self.reference = X.reshape(X.shape[0], -1)
        if reference_predictions is not None and num_classes is None:
            raise ValueError("DriftDetector: num_classes is required with reference_predictions")
        self.reference_predictions = None if reference_predictions is None else \
            _labels("DriftDetector", reference_predictions, num_classes)
        self.num_classes = num_classes
        self.psi_threshold, self.ks_alpha, self.bins = psi_threshold, ks_alpha, bins

    def check(self, inputs, predictions=None) -> DriftReport:
        X = np.asarray(getattr(inputs, "data", inputs), dtype=np.float64)
        X = X.reshape(X.shape[0], -1) if X.ndim >= 2 else X
        if X.ndim != 2 or X.shape[1] != self.reference.shape[1]:
            raise ValueError(f"DriftDetector.check: expected inputs with "
                             f"{self.reference.shape[1]} features per sample, got shape "
                             f"{np.shape(inputs)}")
        alpha = self.ks_alpha / self.reference.shape[1]
        features = []
        for j in range(self.reference.shape[1]):  # one test per feature, not per sample
            value = psi(self.reference[:, j], X[:, j], self.bins)
            statistic, pvalue = ks_2samp(self.reference[:, j], X[:, j])
            features.append(FeatureDrift(j, value, statistic, pvalue,
                                         value >= self.psi_threshold or pvalue < alpha))
        prediction_psi = None
        if predictions is not None and self.reference_predictions is not None:
            prediction_psi = categorical_psi(self.reference_predictions, predictions,
                                             self.num_classes)
        return DriftReport(features, prediction_psi,
                           prediction_psi is not None and prediction_psi >= self.psi_threshold,
                           {"psi": self.psi_threshold, "ks_alpha_per_feature": alpha})
