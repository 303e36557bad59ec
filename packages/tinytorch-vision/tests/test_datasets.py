"""CIFAR10 (three layouts, cache, download, errors) and ImageFolder, all offline."""

import hashlib
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fake_cifar import (
    CLASSES,
    official_batches,
    write_extracted,
    write_image_folders,
    write_official_archive,
)
from PIL import Image

import tinytorch.core as tt
from tinytorch.core.data import DataLoader, Subset
from tinytorch.core.data.fileserver import serve_directory
from tinytorch.core.milestones import EXIT_NO_DATA
from tinytorch.vision import datasets, transforms
from tinytorch.vision.datasets import cache, cifar, folder

# ---------------------------------------------------------------- layouts


def test_image_folder_layout_decodes_exact_pixels_and_labels(tmp_path):
    written = write_image_folders(tmp_path)
    for split, train in (("train", True), ("test", False)):
        ds = datasets.CIFAR10(tmp_path, train=train, progress=False)
        data, labels = written[split]
        assert ds.data.dtype == np.uint8 and ds.data.shape == data.shape
        np.testing.assert_array_equal(ds.data, data)  # PNG is lossless
        np.testing.assert_array_equal(ds.targets, labels)
        assert ds.classes == CLASSES
        assert ds.source[0] == "folder"


def test_official_archive_and_extracted_batches(tmp_path):
    files, arrays = official_batches()
    write_official_archive(tmp_path / "a" / "cifar-10-python.tar.gz", files)
    write_extracted(tmp_path / "b", files)
    for root in (tmp_path / "a", tmp_path / "b"):
        for split, train in (("train", True), ("test", False)):
            ds = datasets.CIFAR10(root, train=train, progress=False)
            np.testing.assert_array_equal(ds.data, arrays[split][0])
            np.testing.assert_array_equal(ds.targets, arrays[split][1])
            assert ds.classes == CLASSES
    assert len(datasets.CIFAR10(tmp_path / "a", progress=False)) == 20


def test_root_defaults_to_tinytorch_data(tmp_path, monkeypatch):
    write_image_folders(tmp_path, {"test": 5})
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path))
    assert len(datasets.CIFAR10(train=False, progress=False)) == 5


def test_item_batch_and_dataloader_with_transforms(tmp_path):
    write_image_folders(tmp_path)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.25,) * 3)])
    ds = datasets.CIFAR10(tmp_path, transform=tf, progress=False)
    image, label = ds[3]
    assert image.shape == (3, 32, 32) and image.dtype == np.float32 and isinstance(label, int)
    np.testing.assert_allclose(image.data, (ds.data[3].transpose(2, 0, 1) / 255 - 0.5) / 0.25,
                               atol=1e-5)
    batches = list(DataLoader(ds, batch_size=8, shuffle=True, generator=tt.Generator(0)))
    assert [b[0].shape for b in batches] == [(8, 3, 32, 32), (8, 3, 32, 32), (4, 3, 32, 32)]
    labels = np.sort(np.concatenate([b[1].array for b in batches]))
    np.testing.assert_array_equal(labels, np.sort(ds.targets))
    sub = Subset(ds, [0, 5])
    x, y = next(iter(DataLoader(sub, batch_size=2)))
    np.testing.assert_allclose(x.array[1], ds[5][0].array)
    assert y.tolist() == [int(ds.targets[0]), int(ds.targets[5])]


# ---------------------------------------------------------------- the decode cache


def test_second_load_comes_from_the_cache(tmp_path, private_cache, monkeypatch):
    write_image_folders(tmp_path, {"train": 6})
    first = datasets.CIFAR10(tmp_path, progress=False)
    assert first.cache_path.is_file() and first.cache_path.parent.parent == private_cache

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again instead of using the cache")

    monkeypatch.setattr(cifar, "decode_images", no_decoding)
    second = datasets.CIFAR10(tmp_path, progress=False)
    np.testing.assert_array_equal(second.data, first.data)
    assert second.classes == first.classes


def test_changed_source_invalidates_the_cache(tmp_path):
    write_image_folders(tmp_path, {"train": 6})
    first = datasets.CIFAR10(tmp_path, progress=False)
    extra = tmp_path / "cifar10-jpg" / "train" / first.classes[0] / "9999.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(extra)
    stamp = os.stat(extra.parent).st_mtime_ns + 10**9  # make the change visible to mtime
    os.utime(extra.parent, ns=(stamp, stamp))
    second = datasets.CIFAR10(tmp_path, progress=False)
    assert len(second) == 7 and second.cache_path != first.cache_path


def test_corrupt_cache_is_rebuilt(tmp_path):
    write_image_folders(tmp_path, {"train": 4})
    first = datasets.CIFAR10(tmp_path, progress=False)
    first.cache_path.write_bytes(b"not a zip file")
    second = datasets.CIFAR10(tmp_path, progress=False)
    np.testing.assert_array_equal(second.data, first.data)


def test_cache_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "c" / "arrays.npz"
    cache.save_arrays(target, {"a": np.arange(3)})

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    from tinytorch.core import atomic

    monkeypatch.setattr(atomic, "_fsync", crash)  # interrupted after writing, before rename
    with pytest.raises(KeyboardInterrupt):
        cache.save_arrays(target, {"a": np.arange(5)})
    assert cache.load_arrays(target, ("a",))["a"].tolist() == [0, 1, 2]  # old file intact
    assert [p.name for p in target.parent.iterdir()] == ["arrays.npz"]  # no temp left


# ---------------------------------------------------------------- download (local server)


@pytest.fixture
def file_server(tmp_path, monkeypatch):
    """An HTTP server on 127.0.0.1 serving tmp_path/served (it can be told to misbehave)."""
    monkeypatch.delenv("TINYTORCH_OFFLINE", raising=False)
    served = tmp_path / "served"
    served.mkdir()
    with serve_directory(served) as server:
        yield served, server


@pytest.fixture
def local_server(file_server):
    """(folder served, base URL)."""
    return file_server[0], file_server[1].url


def served_cifar(served: Path, base_url: str, md5: str | None = None):
    files, arrays = official_batches()
    archive = write_official_archive(served / "cifar-10-python.tar.gz", files)
    digest = hashlib.md5(archive.read_bytes()).hexdigest()

    class LocalCIFAR10(datasets.CIFAR10):
        url = f"{base_url}/cifar-10-python.tar.gz"
        tgz_md5 = md5 or digest

    return LocalCIFAR10, arrays, digest


def test_download_fetches_verifies_and_loads(tmp_path, local_server):
    served, base_url = local_server
    local_cifar, arrays, digest = served_cifar(served, base_url)
    root = tmp_path / "data"
    with pytest.raises(FileNotFoundError):  # nothing is fetched unless asked
        local_cifar(root, progress=False)
    ds = local_cifar(root, train=False, download=True, progress=True)
    np.testing.assert_array_equal(ds.data, arrays["test"][0])
    archive = root / "cifar-10-python.tar.gz"
    assert hashlib.md5(archive.read_bytes()).hexdigest() == digest
    assert local_cifar(root, download=True, progress=False).source[0] == "archive"


def test_download_with_wrong_checksum_leaves_nothing_behind(tmp_path, local_server):
    served, base_url = local_server
    local_cifar, _, digest = served_cifar(served, base_url, md5="0" * 32)
    root = tmp_path / "data"
    with pytest.raises(datasets.ChecksumError, match=f"expected {'0' * 32}, got {digest}"):
        local_cifar(root, download=True, progress=False)
    assert not root.exists() or not any(root.iterdir())


# ---------------------------------------------------------------- errors


def test_missing_data_says_where_it_looked_and_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        datasets.CIFAR10(train=False)
    message = str(error.value)
    for expected in (str(tmp_path / "cifar10-jpg" / "test"), "cifar-10-batches-py",
                     "cifar-10-python.tar.gz", "$TINYTORCH_DATA", "download=True"):
        assert expected in message


def test_corrupt_archive_error_names_file_and_remedy(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(RuntimeError, match=r"cifar-10-python.tar.gz is corrupt.*download=True"):
        datasets.CIFAR10(tmp_path, progress=False)


def test_corrupt_image_error_names_the_file(tmp_path):
    write_image_folders(tmp_path, {"train": 4})
    bad = next((tmp_path / "cifar10-jpg" / "train").rglob("*.png"))
    bad.write_bytes(b"not an image")
    with pytest.raises(RuntimeError, match=f"cannot decode {bad}"):
        datasets.CIFAR10(tmp_path, progress=False)


def test_unpickler_refuses_anything_but_arrays():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        cifar._unpickle(pickle.dumps({b"data": Evil()}))


# ---------------------------------------------------------------- ImageFolder


def test_image_folder_items_batches_and_mixed_sizes(tmp_path):
    for name, size in (("cats", (8, 6)), ("dogs", (8, 6))):
        (tmp_path / name).mkdir()
        for i in range(3):
            image = Image.fromarray(np.full((*size, 3), i * 40, np.uint8))
            image.save(tmp_path / name / f"{i}.jpg")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    ds = datasets.ImageFolder(tmp_path, transform=transforms.ToTensor())
    assert ds.classes == ["cats", "dogs"] and len(ds) == 6
    assert ds.targets.tolist() == [0, 0, 0, 1, 1, 1]
    image, label = ds[4]
    assert image.shape == (3, 8, 6) and label == 1
    x, y = next(iter(DataLoader(ds, batch_size=6)))
    assert x.shape == (6, 3, 8, 6) and y.tolist() == [0, 0, 0, 1, 1, 1]
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(tmp_path / "cats" / "z.png")
    mixed = datasets.ImageFolder(tmp_path)
    with pytest.raises(ValueError):  # raw images of different sizes cannot be stacked
        mixed.__getitems__([0, 3])
    resized = datasets.ImageFolder(tmp_path, transform=lambda im: tt.tensor(im[:4, :4]))
    assert resized.__getitems__([0, 3])[0].shape == (2, 4, 4, 3)


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        datasets.ImageFolder(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no class folders"):
        datasets.ImageFolder(tmp_path)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(FileNotFoundError, match="found no files"):
        datasets.ImageFolder(tmp_path)


def test_decode_images_refuses_mixed_sizes(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(a)
    Image.fromarray(np.zeros((5, 4, 3), np.uint8)).save(b)
    with pytest.raises(ValueError, match="every image must be the same size"):
        folder.decode_images([a, b], progress=False)


# ---------------------------------------------------------------- the real data, if present

REAL = Path(os.environ.get("TINYTORCH_DATA", "/nonexistent")) / "cifar10-jpg" / "test"


@pytest.mark.skipif(not REAL.is_dir(), reason="$TINYTORCH_DATA has no cifar10-jpg (CI has it)")
def test_real_cifar10_test_split():
    ds = datasets.CIFAR10(train=False, progress=False)
    assert ds.data.shape == (10000, 32, 32, 3) and ds.classes == CLASSES
    assert np.bincount(ds.targets).tolist() == [1000] * 10
    assert 100 < ds.data.mean() < 140  # natural images, not noise or zeros


# ---------------------------------------------------------------- milestone 03's data path
def test_milestone_downloads_once_then_uses_the_data_root(tmp_path, file_server, monkeypatch,
                                                          capsys):
    from tinytorch.vision.milestones import cifar10 as milestone

    served, server = file_server
    local_cifar, arrays, _ = served_cifar(served, server.url)
    monkeypatch.setattr(milestone.datasets, "CIFAR10", local_cifar)
    args = milestone.parse_args(["--data-dir", str(tmp_path / "data")])
    server.faults.append("corrupt")  # the first transfer is refused, then retried
    first = milestone.load_data(args, milestone.Console())
    assert "downloading cifar-10-python.tar.gz" in capsys.readouterr().out
    np.testing.assert_array_equal(first[2], arrays["test"][0])
    assert server.requests == ["/cifar-10-python.tar.gz"] * 2
    second = milestone.load_data(args, milestone.Console())
    np.testing.assert_array_equal(second[0], first[0])
    assert len(server.requests) == 2  # the second run found the archive in the data root


def test_milestone_quick_run_without_data_uses_the_labelled_stand_in(tmp_path, file_server,
                                                                     monkeypatch):
    from tinytorch.vision.milestones import cifar10 as milestone

    served, server = file_server
    monkeypatch.setattr(milestone.datasets, "CIFAR10", served_cifar(served, server.url)[0])
    args = milestone.parse_args(["--quick", "--data-dir", str(tmp_path / "empty")])
    train_x, train_y, test_x, test_y, eval_name, label = milestone.load_data(
        args, milestone.Console())
    assert "SYNTHETIC" in label and eval_name == "stand-in test"
    assert train_x.shape == (10_000, 32, 32, 3) and test_x.dtype == np.uint8
    assert server.requests == []  # a quick run never downloads


def test_stand_in_is_learnable_and_not_cifar():
    train, test = datasets.cifar10_stand_in(True, 500), datasets.cifar10_stand_in(False, 200)
    assert train.classes[0] == "stand-in 0" and len(test) == 200
    # nearest class mean on raw pixels already separates the classes: there is a signal
    means = np.stack([train.data[train.targets == k].mean(axis=0) for k in range(10)])
    distances = ((test.data[:, None].astype(float) - means[None]) ** 2).sum(axis=(2, 3, 4))
    assert (distances.argmin(axis=1) == test.targets).mean() > 0.9
    assert not np.array_equal(train.data[:200], test.data)  # different noise per split


def test_offline_milestone_fails_at_once_with_one_clear_message(tmp_path):
    env = {"PATH": "", "HOME": str(tmp_path), "TINYTORCH_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "tinytorch.vision.milestones.cifar10"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == EXIT_NO_DATA
    out = " ".join(done.stdout.split())
    for expected in ("cannot run, its data is missing and downloads are off",
                     str(tmp_path / ".cache" / "tinytorch" / "data" / "cifar10-jpg"),
                     datasets.CIFAR10.url, "TINYTORCH_DATA"):
        assert expected in out
