"""`torch.utils.data` under TinyTorch: the names of tinytorch.core.data, re-exported.

    from tinytorch.core.utils.data import DataLoader, Dataset, TensorDataset, random_split
"""

from ..data import *  # noqa: F403 - this module is an alias of tinytorch.core.data
from ..data import __all__  # noqa: F401
