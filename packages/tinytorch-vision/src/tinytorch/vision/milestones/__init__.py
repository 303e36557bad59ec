"""Milestone 03, shipped with tinytorch-vision: `tito milestones run cifar10`."""
