"""tinytorch.core.data: datasets, splitting, batching (mirrors torch.utils.data), and the one
rule for where data and caches live plus a verified download, shared by every dataset."""

from .collate import default_collate
from .dataloader import DataLoader
from .dataset import Dataset, Subset, TensorDataset, random_split
from .download import OFFLINE_ENV, ChecksumError, download_allowed, download_url, file_md5, offline
from .paths import DATA_ENV, cache_dir, data_root
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler

__all__ = ["DATA_ENV", "OFFLINE_ENV", "BatchSampler", "ChecksumError", "DataLoader", "Dataset",
           "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
           "TensorDataset", "cache_dir", "data_root", "default_collate", "download_allowed",
           "download_url", "file_md5", "offline", "random_split"]
