"""tinytorch.vision.datasets: CIFAR10, ImageFolder, and the in-memory ImageArrays."""

from .arrays import ImageArrays
from .cifar import CIFAR10
from .download import ChecksumError, download_url
from .folder import ImageFolder, load_image
from .paths import cache_dir, data_root

__all__ = ["CIFAR10", "ChecksumError", "ImageArrays", "ImageFolder", "cache_dir",
           "data_root", "download_url", "load_image"]
