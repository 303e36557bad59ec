"""Model compression with measured savings: int8 quantization, pruning, distillation."""

from .distillation import distill, distillation_loss
from .pruning import (
    SparseLinear,
    magnitude_mask,
    magnitude_prune,
    prune_channels,
    state_nbytes,
)
from .quantization import (
    QuantizedConv2d,
    QuantizedLinear,
    activation_qparams,
    calibrate,
    dequantize_per_channel,
    fold_batchnorm,
    quantize_model,
    quantize_per_channel,
)
from .shapes import STATE_SHAPES as _STATE_SHAPES

# the layers a saved architecture spec may name (entry point group `tinytorch.buildable`),
# each with the function that gives its state shapes from its arguments (see shapes.py)
BUILDABLE = dict(_STATE_SHAPES)

__all__ = [name for name in dir() if not name.startswith("_")]
