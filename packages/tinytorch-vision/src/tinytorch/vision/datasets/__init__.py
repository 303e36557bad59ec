"""tinytorch.vision.datasets: CIFAR10, ImageFolder, the in-memory ImageArrays, and a labelled
CIFAR-10 stand-in for smoke runs without data.

The data-root rule and the verified download are core's (tinytorch.core.data), re-exported
here for convenience.
"""

from tinytorch.core.data import ChecksumError, cache_dir, data_root, download_url

from .arrays import ImageArrays
from .cifar import CIFAR10
from .folder import ImageFolder, load_image
from .standin import cifar10_stand_in

__all__ = ["CIFAR10", "ChecksumError", "ImageArrays", "ImageFolder", "cache_dir",
           "cifar10_stand_in", "data_root", "download_url", "load_image"]
