"""Retraining trigger: act on sustained drift, not on one noisy window.

    trigger = RetrainingTrigger(patience=3, cooldown=10)
    for window in traffic:
        if trigger.update(detector.check(window.inputs, window.predictions)):
            start_retraining()

What it teaches: a drift test at 1% false-alarm rate run every minute raises a false
alarm every couple of hours. Requiring `patience` drifted windows *in a row* makes a false
trigger need `patience` independent false alarms (1e-6 for three windows at 1%), while a real
shift, which persists, still fires after `patience` windows. After firing, the trigger stays
quiet for `cooldown` windows: retraining takes time, and the same shift should not queue
ten retraining jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RetrainingTrigger:
    patience: int = 3
    cooldown: int = 0
    streak: int = 0
    fired_at: list[int] = field(default_factory=list)
    windows_seen: int = 0
    _quiet_until: int = 0

    def __post_init__(self):
        if not isinstance(self.patience, int) or self.patience < 1:
            raise ValueError(f"RetrainingTrigger: patience must be a positive int, got "
                             f"{self.patience!r}")
        if not isinstance(self.cooldown, int) or self.cooldown < 0:
            raise ValueError(f"RetrainingTrigger: cooldown must be an int >= 0, got "
                             f"{self.cooldown!r}")

    def update(self, report_or_drifted) -> bool:
        """Feed one window's verdict (a DriftReport or a bool); True when retraining is due."""
        drifted = bool(getattr(report_or_drifted, "drifted", report_or_drifted))
        index = self.windows_seen
        self.windows_seen += 1
        self.streak = self.streak + 1 if drifted else 0
        if index < self._quiet_until or self.streak < self.patience:
            return False
        self.fired_at.append(index)
        self.streak = 0
        self._quiet_until = index + 1 + self.cooldown
        return True
