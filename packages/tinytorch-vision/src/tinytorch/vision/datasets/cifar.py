"""CIFAR-10: 60,000 32x32 colour images in 10 classes (50,000 train, 10,000 test).

    from tinytorch.vision import datasets, transforms
    train = datasets.CIFAR10(train=True, transform=transforms.ToTensor())

What it teaches: where a dataset comes from and what it costs to get it into memory.
Three on-disk layouts are understood, looked for in this order under the data root
(see tinytorch.core.data.paths for how the root is chosen):

    <root>/cifar10-jpg/{train,test}/<class>/*.jpg    image folders (one file per image)
    <root>/cifar-10-batches-py/                      the official archive, extracted
    <root>/cifar-10-python.tar.gz                    the official archive (read in place)

Whichever is found is decoded once into uint8 arrays and cached (checksummed) outside the
repository (tinytorch.core.data.cache_dir()); later loads read the cache in well under a second.
Nothing is downloaded unless `download=True`, and then only the official archive, whose
md5 is checked before it is used.

Systems lesson: 60,000 JPEG files cost ~60,000 file opens and entropy decodes (tens of
seconds); the same pixels as one contiguous 184 MB array load at memory speed. The
official pickles are read with an unpickler that only admits numpy arrays, because
unpickling arbitrary files can execute arbitrary code.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinytorch.core.data import DATA_ENV, cache_dir, data_root, download_url, file_md5

from . import cache
from .arrays import ImageArrays
from .folder import decode_images, find_classes, make_samples

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]


class CIFAR10(ImageArrays):
    """CIFAR-10 (mirrors torchvision.datasets.CIFAR10): `data` is uint8 (N, 32, 32, 3)."""

    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    base_folder = "cifar-10-batches-py"
    image_folder = "cifar10-jpg"
    train_list = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                  "data_batch_5"]
    test_list = ["test_batch"]

    def __init__(self, root=None, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 progress: bool = True):
        self.root, self._root_origin = data_root(root)
        self.train, self.progress = train, progress
        self.split = "train" if train else "test"
        if download:
            self.download()
        source = self._find_source()
        if source is None:
            raise FileNotFoundError(self._missing_message())
        data, targets, classes = self._load_cached(*source)
        super().__init__(data, targets, transform, target_transform, classes)
        self.source = source

    # ------------------------------------------------------------ finding the data
    def _candidates(self) -> list[tuple[str, Path]]:
        return [("folder", self.root / self.image_folder / self.split),
                ("batches", self.root / self.base_folder),
                ("archive", self.root / self.filename)]

    def _find_source(self) -> tuple[str, Path] | None:
        for kind, path in self._candidates():
            if (kind == "archive" and path.is_file()) or (kind != "archive" and path.is_dir()):
                return kind, path
        return None

    def _missing_message(self) -> str:
        looked = "\n".join(f"  {path}{'/<class>/*.jpg' if kind == 'folder' else ''}"
                           for kind, path in self._candidates())
        return (f"CIFAR10: no CIFAR-10 {self.split} data found under {self.root} (the data "
                f"root, from {self._root_origin}). Looked for:\n{looked}\n"
                f"Provide it by setting ${DATA_ENV} (or root=...) to a directory holding one "
                f"of these, or pass download=True to fetch the official archive (163 MB) "
                f"from {self.url}.")

    # ------------------------------------------------------------ decoding with a cache
    def _load_cached(self, kind: str, path: Path):
        key = cache.fingerprint("cifar10", self.split, kind, str(path.resolve()),
                                _source_stamp(kind, path))
        cache_path = cache_dir() / "datasets" / f"cifar10-{self.split}-{key}.safetensors"
        self.cache_path = cache_path
        cached = cache.load_arrays(cache_path, ("data", "targets", "classes"))
        if cached is not None:
            return cached["data"], cached["targets"], [str(c) for c in cached["classes"]]
        if kind == "folder":
            data, targets, classes = self._decode_folder(path)
        else:
            data, targets, classes = self._read_official(kind, path)
        cache.save_arrays(cache_path, {"data": data, "targets": targets,
                                       "classes": np.array(classes)})
        return data, targets, classes

    def _decode_folder(self, path: Path):
        """Decode <split>/<class>/*.jpg; labels follow the official class order."""
        names = find_classes(path)[0]
        unknown = [n for n in names if n not in CLASSES]
        if unknown:
            raise ValueError(f"CIFAR10: unexpected class folders {unknown} in {path}; "
                             f"expected a subset of {CLASSES}")
        samples = make_samples(path, {name: CLASSES.index(name) for name in names})
        data = decode_images([p for p, _ in samples], f"decoding CIFAR-10 {self.split} JPEGs",
                             self.progress)
        if data.shape[1:] != (32, 32, 3):
            raise ValueError(f"CIFAR10: images under {path} are {data.shape[1:]}, expected "
                             "(32, 32, 3)")
        targets = np.array([t for _, t in samples], dtype=np.int64)
        return data, targets, list(CLASSES)

    def _read_official(self, kind: str, path: Path):
        names = self.train_list if self.train else self.test_list
        try:
            if kind == "archive":
                with tarfile.open(path, "r:gz") as archive:
                    def read(name):
                        member = archive.extractfile(f"{self.base_folder}/{name}")
                        if member is None:
                            raise KeyError(name)
                        return member.read()
                    return _batches_to_arrays([read(n) for n in names], read("batches.meta"))
            return _batches_to_arrays([(path / n).read_bytes() for n in names],
                                      (path / "batches.meta").read_bytes())
        except (tarfile.TarError, KeyError, EOFError, zlib.error, OSError,
                pickle.UnpicklingError, ValueError) as error:
            raise RuntimeError(
                f"CIFAR10: {path} is corrupt or incomplete ({type(error).__name__}: {error}). "
                f"Delete it and run again with download=True, or replace it with the official "
                f"archive from {self.url} (md5 {self.tgz_md5}).") from error

    # ------------------------------------------------------------ download
    def download(self) -> Path | None:
        """Fetch the official archive into the data root, unless the data is already there
        (an archive must pass its md5 check to count). Returns the archive path, if any."""
        archive = self.root / self.filename
        source = self._find_source()
        if source is not None and source[0] != "archive":
            return None  # image folders or extracted batches: nothing to fetch
        if archive.is_file() and file_md5(archive) == self.tgz_md5:
            return archive
        return download_url(self.url, archive, md5=self.tgz_md5, progress=self.progress)

    def __repr__(self) -> str:
        return (f"CIFAR10(split={self.split!r}, {len(self)} images, root={str(self.root)!r}, "
                f"source={self.source[0]})")


def _source_stamp(kind: str, path: Path) -> tuple:
    """What the cache key depends on: file sizes and modification times. For image folders,
    the class folders' mtimes (adding, removing or renaming an image changes them), which
    costs 10 stat calls instead of listing 50,000 files."""
    if kind == "archive":
        stat = path.stat()
        return stat.st_size, stat.st_mtime_ns
    if kind == "batches":
        return tuple((entry.name, entry.stat().st_size, entry.stat().st_mtime_ns)
                     for entry in sorted(os.scandir(path), key=lambda e: e.name))
    classes = find_classes(path)[0]
    return tuple((name, (path / name).stat().st_mtime_ns) for name in classes)


class _ArraysOnly(pickle.Unpickler):
    """Unpickle the official batches, refusing anything but numpy arrays and builtins."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray",
               "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype"),
               ("_codecs", "encode")}  # how protocol-2 pickles spell raw bytes

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR-10 "
                                         "batch file (only numpy arrays are expected)")
        if module == "numpy.core.multiarray":  # written by numpy 1.x; numpy 2 moved it
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def _unpickle(raw: bytes) -> dict:
    return _ArraysOnly(io.BytesIO(raw), encoding="bytes").load()


def _batches_to_arrays(batches: list[bytes], meta: bytes):
    """Official pickles -> uint8 (N, 32, 32, 3) images, int64 labels, class names."""
    data, targets = [], []
    for raw in batches:
        batch = _unpickle(raw)
        pixels = np.asarray(batch[b"data"], dtype=np.uint8)  # rows of 1024 R, G, B values
        data.append(pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        targets.extend(batch[b"labels"])
    names = [n.decode() for n in _unpickle(meta)[b"label_names"]]
    return (np.ascontiguousarray(np.concatenate(data)), np.array(targets, dtype=np.int64),
            names)
