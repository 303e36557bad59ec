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

# the layers a saved architecture spec may name (entry point group `tinytorch.buildable`)
BUILDABLE = (QuantizedConv2d, QuantizedLinear, SparseLinear)

__all__ = [name for name in dir() if not name.startswith("_")]
