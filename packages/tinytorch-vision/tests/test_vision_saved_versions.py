"""Every op of tinytorch-vision saves what its backward reads through the version-checked
path: editing an input (or the output) in place between forward and backward raises the
version error or leaves the gradients exactly as they were (see core's
test_saved_versions.py; ops are found, not listed, so a new op needs a factory here)."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.core as tt
import tinytorch.vision.functional as VF
from tinytorch.core.autograd import check_saved_versions, defined_functions
from tinytorch.core.testing import check_factory_saved_versions

_rng = np.random.default_rng(0)


def leaf(*shape):
    return tt.tensor(_rng.standard_normal(shape), dtype=tt.float64, requires_grad=True)


def buffer(*shape):
    return tt.tensor(_rng.uniform(0.5, 2.0, shape), dtype=tt.float64)


FACTORIES = {
    "Conv2d": lambda: (lambda x, w, b: VF.conv2d(x, w, b, padding=1),
                       (leaf(2, 3, 5, 5), leaf(4, 3, 3, 3), leaf(4))),
    "MaxPool2d": lambda: (lambda x: VF.max_pool2d(x, 2), (leaf(1, 2, 4, 4),)),
    "AvgPool2d": lambda: (lambda x: VF.avg_pool2d(x, 3, stride=1, padding=1),
                          (leaf(1, 2, 4, 4),)),
    "AdaptiveAvgPool2d": lambda: (lambda x: VF.adaptive_avg_pool2d(x, (2, 3)),
                                  (leaf(1, 2, 5, 7),)),
    "Unfold": lambda: (lambda x: VF.im2col(x, 2), (leaf(1, 2, 4, 4),)),
    "Fold": lambda: (lambda c: VF.col2im(c, (4, 4), 2), (leaf(1, 8, 9),)),
}


def _batch_norm(training):
    def run(x, w, b, mean, var):
        return VF.batch_norm(x, mean, var, w, b, training=training)
    return lambda: (run, (leaf(4, 3, 2, 2), leaf(3), leaf(3), buffer(3), buffer(3)))


def _batch_norm_max_pool(training):
    def run(x, w, b, mean, var):
        return VF.batch_norm_max_pool2d(x, mean, var, w, b, training=training, relu=True)
    return lambda: (run, (leaf(4, 3, 4, 4), leaf(3), leaf(3), buffer(3), buffer(3)))


FACTORIES["BatchNorm"] = _batch_norm(True)
FACTORIES["BatchNormMaxPool"] = _batch_norm_max_pool(True)
VISION_FUNCTIONS = defined_functions("tinytorch.vision")


@pytest.mark.parametrize("name", sorted(VISION_FUNCTIONS))
def test_in_place_edits_after_forward_never_give_a_silent_wrong_gradient(name):
    check_factory_saved_versions(name, VISION_FUNCTIONS, FACTORIES)


def test_batch_norm_in_eval_mode_checks_its_weight_and_running_mean():
    fn, inputs = _batch_norm(False)()
    refused = check_saved_versions(fn, inputs)
    assert 1 in refused and 3 in refused  # backward reads weight and running_mean themselves


def test_fused_batch_norm_pool_in_eval_mode_checks_its_weight_and_running_mean():
    fn, inputs = _batch_norm_max_pool(False)()
    refused = check_saved_versions(fn, inputs)
    assert 1 in refused and 3 in refused


def test_editing_a_batch_norm_weight_after_forward_is_detected():
    fn, inputs = FACTORIES["BatchNorm"]()
    assert 1 in check_saved_versions(fn, inputs)
