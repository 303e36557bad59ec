"""tinytorch.core.utils: PyTorch's `torch.utils` path, so `torch.utils.data` resolves.

The data pipeline itself lives in tinytorch.core.data; `utils.data` is the same module
under the name PyTorch programs import it by.
"""

from . import data
