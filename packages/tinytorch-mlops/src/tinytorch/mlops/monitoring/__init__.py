"""Monitoring a deployed model: data and prediction drift, latency, throughput, errors."""

from .drift import (
    PSI_MAJOR,
    PSI_MODERATE,
    DriftDetector,
    DriftReport,
    FeatureDrift,
    categorical_psi,
    kolmogorov_sf,
    ks_2samp,
    psi,
    psi_from_proportions,
)
from .performance import ErrorRateMonitor, LatencyMonitor, ThroughputMonitor
from .trigger import RetrainingTrigger

__all__ = [name for name in dir() if not name.startswith("_")]
