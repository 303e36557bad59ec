"""Milestone 04, shipped with tinytorch-language: `tito milestones run tinygpt`."""
