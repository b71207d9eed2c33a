"""The data package: shipped files match their published checksums, loaders give the documented
shapes and dtypes, splits are exact and seeded, and every bad input is one clear DataError."""

from __future__ import annotations

import gzip
import hashlib
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from backprop_tui.data import (
    DATA_DIR_ENV,
    GATE_NAMES,
    MNIST_FILES,
    gate_data,
    load_iris,
    load_mnist,
    one_hot,
    read_idx,
    scale_pixels,
    standardize,
    stratified_split,
)
from backprop_tui.errors import DataError
from backprop_tui.resources import assets_dir

MNIST_DIR = assets_dir() / "mnist"
IRIS_CSV = assets_dir() / "iris.csv"

# from /work/shared/datasets/README.md: (uncompressed bytes, SHA-256 of the uncompressed file)
MNIST_SHA256 = {
    "train-images-idx3-ubyte": (
        47_040_016,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train-labels-idx1-ubyte": (
        60_008,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "t10k-images-idx3-ubyte": (
        7_840_016,
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "t10k-labels-idx1-ubyte": (
        10_008,
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}
IRIS_SHA256 = "7866a81bd4601f74577a9cd0a7f03b35dcb0c361cf1e578a3930697524b0edeb"
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
IRIS_HEADER_LINE = "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm,species\n"


# ---------------------------------------------------------------------------- helpers


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """An IDX file for a uint8 array: big-endian magic, one uint32 per dimension, the bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write(path: Path, data: bytes, *, gz: bool) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def fake_mnist(
    folder: Path, *, n_train: int = 6, n_test: int = 4, gz: bool = True, seed: int = 0
) -> dict[str, np.ndarray]:
    """Four small valid MNIST files in ``folder``; returns the arrays written, by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, a in arrays.items():
        write(folder / (name + ".gz" if gz else name), idx_bytes(a), gz=gz)
    return arrays


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The shipped MNIST, decoded once for the whole module."""
    return load_mnist(MNIST_DIR)


# ---------------------------------------------------------------------------- checksums


@pytest.mark.parametrize("name", MNIST_FILES)
def test_shipped_mnist_files_match_published_sha256(name: str) -> None:
    size, sha = MNIST_SHA256[name]
    raw = gzip.decompress((MNIST_DIR / f"{name}.gz").read_bytes())
    assert len(raw) == size
    assert hashlib.sha256(raw).hexdigest() == sha


def test_shipped_iris_matches_published_sha256() -> None:
    assert hashlib.sha256(IRIS_CSV.read_bytes()).hexdigest() == IRIS_SHA256


# ---------------------------------------------------------------------------- MNIST


def test_mnist_shapes_dtypes_and_class_counts(mnist) -> None:
    x_train, y_train, x_test, y_test = mnist
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.int64
    assert y_test.shape == (10000,) and y_test.dtype == np.int64
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test, minlength=10).tolist() == TEST_COUNTS
    assert x_train.max() == 255 and x_train.min() == 0


def test_mnist_is_cached_and_read_only(mnist) -> None:
    again = load_mnist(MNIST_DIR)
    assert all(a is b for a, b in zip(mnist, again, strict=True))
    for a in again:
        assert not a.flags.writeable
        with pytest.raises(ValueError):
            a[0] = 1


def test_mnist_default_folder_is_the_shipped_data(mnist, monkeypatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert all(a is b for a, b in zip(mnist, load_mnist(), strict=True))
    monkeypatch.setenv(DATA_DIR_ENV, "")  # empty counts as unset
    assert load_mnist()[0] is mnist[0]


def test_mnist_env_var_is_honoured_and_argument_wins(tmp_path, monkeypatch) -> None:
    env_arrays = fake_mnist(tmp_path / "env", n_train=5, n_test=3, seed=1)
    arg_arrays = fake_mnist(tmp_path / "arg", n_train=7, n_test=2, seed=2)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    x_train, y_train, x_test, y_test = load_mnist()
    assert x_train.shape == (5, 28, 28) and x_test.shape == (3, 28, 28)
    np.testing.assert_array_equal(x_train, env_arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_test, env_arrays["t10k-labels-idx1-ubyte"])
    x_train, _, _, y_test = load_mnist(tmp_path / "arg")
    np.testing.assert_array_equal(x_train, arg_arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_test, arg_arrays["t10k-labels-idx1-ubyte"])


def test_mnist_raw_files_accepted(tmp_path) -> None:
    arrays = fake_mnist(tmp_path, gz=False)
    assert not list(tmp_path.glob("*.gz"))
    x_train, y_train, x_test, y_test = load_mnist(tmp_path)
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_train, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(x_test, arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])


def test_gzip_is_detected_by_content_not_by_name(tmp_path) -> None:
    a = np.arange(12, dtype=np.uint8)
    raw_named_gz = write(tmp_path / "labels.gz", idx_bytes(a), gz=False)
    gz_named_raw = write(tmp_path / "labels", idx_bytes(a), gz=True)
    np.testing.assert_array_equal(read_idx(raw_named_gz), a)
    np.testing.assert_array_equal(read_idx(gz_named_raw), a)


def test_read_idx_shapes(tmp_path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (3, 5, 4), dtype=np.uint8)
    got = read_idx(write(tmp_path / "img", idx_bytes(images), gz=True))
    assert got.shape == (3, 5, 4) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, images)


def test_cache_rereads_a_changed_file(tmp_path) -> None:
    path = write(tmp_path / "labels", idx_bytes(np.zeros(4, np.uint8)), gz=False)
    first = read_idx(path)
    assert read_idx(path) is first
    write(path, idx_bytes(np.full(4, 7, np.uint8)), gz=False)  # same size
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    second = read_idx(path)
    assert second is not first
    assert second.tolist() == [7, 7, 7, 7]


def test_missing_folder_names_it_and_how_to_point_elsewhere(tmp_path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as err:
        load_mnist(missing)
    msg = str(err.value)
    assert str(missing) in msg and "does not exist" in msg
    assert DATA_DIR_ENV in msg and "--data-dir" in msg


def test_missing_folder_from_env_var_says_so(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(DataError) as err:
        load_mnist()
    assert f"${DATA_DIR_ENV}" in str(err.value) and str(tmp_path / "nowhere") in str(err.value)


def test_missing_files_lists_every_path_looked_at(tmp_path) -> None:
    fake_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as err:
        load_mnist(tmp_path)
    msg = str(err.value)
    for name in ("t10k-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        assert str(tmp_path / name) in msg
        assert str(tmp_path / f"{name}.gz") in msg
    assert "train-images-idx3-ubyte.gz or" not in msg  # present files are not reported missing
    assert "2 of the 4" in msg
    assert DATA_DIR_ENV in msg and "--data-dir" in msg


def test_read_idx_missing_file(tmp_path) -> None:
    with pytest.raises(DataError, match="file not found") as err:
        read_idx(tmp_path / "absent")
    assert str(tmp_path / "absent") in str(err.value)


def test_read_idx_on_a_folder(tmp_path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path)


@pytest.mark.parametrize("gz", [False, True])
def test_bad_magic(tmp_path, gz: bool) -> None:
    path = write(tmp_path / "bad", b"\x12\x34\x56\x78" + bytes(20), gz=gz)
    with pytest.raises(DataError) as err:
        read_idx(path)
    msg = str(err.value)
    assert "0x12345678" in msg and "0x00000801" in msg and "0x00000803" in msg
    assert str(path) in msg


def test_unsupported_element_type(tmp_path) -> None:
    floats = (0x00000D01).to_bytes(4, "big") + (2).to_bytes(4, "big") + bytes(8)
    with pytest.raises(DataError, match="element type 0x0d"):
        read_idx(write(tmp_path / "f", floats, gz=False))


@pytest.mark.parametrize("data", [b"", b"\x00\x00", b"\x00\x00\x08\x03" + bytes(8)])
def test_short_or_empty_header(tmp_path, data: bytes) -> None:
    with pytest.raises(DataError, match="header"):
        read_idx(write(tmp_path / "short", data, gz=False))


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_payload_reports_expected_and_found_bytes(tmp_path, gz: bool) -> None:
    data = idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-100]
    with pytest.raises(DataError) as err:
        read_idx(write(tmp_path / "trunc", data, gz=gz))
    msg = str(err.value)
    assert "truncated" in msg
    assert f"{len(data):,} bytes" in msg and f"{16 + 3 * 28 * 28:,} bytes" in msg


def test_trailing_bytes(tmp_path) -> None:
    data = idx_bytes(np.zeros(10, np.uint8)) + b"extra"
    with pytest.raises(DataError) as err:
        read_idx(write(tmp_path / "trail", data, gz=True))
    msg = str(err.value)
    assert "trailing" in msg and "23 bytes" in msg and "18 bytes" in msg


def test_corrupt_gzip(tmp_path) -> None:
    payload = idx_bytes(np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8))
    good = gzip.compress(payload, mtime=0)
    flipped = bytearray(good)
    for i in range(20, len(good) - 20, 7):  # damage the deflate stream
        flipped[i] ^= 0xFF
    (tmp_path / "flipped").write_bytes(bytes(flipped))
    (tmp_path / "cut").write_bytes(good[: len(good) // 2])
    for name in ("flipped", "cut"):
        with pytest.raises(DataError, match="corrupt gzip") as err:
            read_idx(tmp_path / name)
        assert str(tmp_path / name) in str(err.value)


def test_image_label_count_mismatch(tmp_path) -> None:
    fake_mnist(tmp_path, n_train=6)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(5, np.uint8)), gz=True)
    with pytest.raises(DataError) as err:
        load_mnist(tmp_path)
    msg = str(err.value)
    assert "6 images but 5 labels" in msg and "train-images-idx3-ubyte" in msg


def test_labels_outside_0_to_9(tmp_path) -> None:
    fake_mnist(tmp_path, n_test=4)
    write(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.array([1, 2, 12, 3])), gz=True)
    with pytest.raises(DataError, match="label 12 at index 2"):
        load_mnist(tmp_path)


def test_image_shape_other_than_28x28(tmp_path) -> None:
    fake_mnist(tmp_path, n_train=6)
    write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(np.zeros((6, 27, 28))), gz=True)
    with pytest.raises(DataError, match="27×28"):
        load_mnist(tmp_path)


def test_labels_where_images_belong(tmp_path) -> None:
    fake_mnist(tmp_path)
    write(tmp_path / "t10k-images-idx3-ubyte.gz", idx_bytes(np.zeros(4, np.uint8)), gz=True)
    with pytest.raises(DataError, match="expected an image file"):
        load_mnist(tmp_path)


# ---------------------------------------------------------------------------- iris


def test_iris_shape_classes_and_values() -> None:
    x, y, names = load_iris()
    assert x.shape == (150, 4) and x.dtype == np.float64
    assert y.shape == (150,) and y.dtype == np.int64
    assert names == ("Iris-setosa", "Iris-versicolor", "Iris-virginica")
    assert np.bincount(y).tolist() == [50, 50, 50]
    np.testing.assert_array_equal(x[0], [5.1, 3.5, 1.4, 0.2])
    assert y[0] == 0 and y[-1] == 2


def test_iris_class_numbers_follow_first_appearance(tmp_path) -> None:
    path = tmp_path / "mini.csv"
    path.write_text(IRIS_HEADER_LINE + "1,2,3,4,b\n\n5,6,7,8,a\n9,10,11,12,b\n")
    x, y, names = load_iris(path)
    assert names == ("b", "a")
    assert y.tolist() == [0, 1, 0]
    assert x[2].tolist() == [9, 10, 11, 12]


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (
            "5.1,3.5,1.4,0.2,Iris-setosa\n4.9,abc,1.4,0.2,Iris-setosa\n",
            ["line 3", "sepal_width_cm", "'abc'", "number"],
        ),
        (
            "5.1,3.5,1.4,0.2,Iris-setosa\n4.9,3.0,1.4,Iris-setosa\n",
            ["line 3", "4 columns instead of 5"],
        ),
        ("5.1,3.5,1.4,0.2,Iris-setosa,extra\n", ["line 2", "6 columns instead of 5"]),
        ("5.1,nan,1.4,0.2,Iris-setosa\n", ["line 2", "finite"]),
        ("5.1,3.5,1.4,0.2,  \n", ["line 2", "empty species"]),
    ],
)
def test_iris_bad_rows(tmp_path, body: str, fragments: list[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(IRIS_HEADER_LINE + body)
    with pytest.raises(DataError) as err:
        load_iris(path)
    msg = str(err.value)
    assert str(path) in msg
    for fragment in fragments:
        assert fragment in msg


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("a,b,c,d,e\n1,2,3,4,x\n", "unexpected header"),
        (IRIS_HEADER_LINE, "no data rows"),
    ],
)
def test_iris_bad_files(tmp_path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=fragment) as err:
        load_iris(path)
    assert str(path) in str(err.value)


def test_iris_missing_file_and_binary_file(tmp_path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_iris(tmp_path / "absent.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(DataError, match="UTF-8"):
        load_iris(tmp_path / "bin.csv")


# ---------------------------------------------------------------------------- gates

TRUTH = {
    "and": [0, 0, 0, 1],
    "or": [0, 1, 1, 1],
    "nand": [1, 1, 1, 0],
    "xor": [0, 1, 1, 0],
}


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_two_input_gates(name: str) -> None:
    x, t = gate_data(name)
    assert x.dtype == np.float64 and t.dtype == np.int64
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert t.tolist() == TRUTH[name]


def test_not_gate() -> None:
    x, t = gate_data("not")
    assert x.shape == (2, 1) and x.dtype == np.float64
    assert x.tolist() == [[0], [1]] and t.tolist() == [1, 0]


def test_gate_names_and_unknown_gate() -> None:
    assert set(GATE_NAMES) == {"and", "or", "nand", "not", "xor"}
    with pytest.raises(ValueError, match="xnor"):
        gate_data("xnor")


def test_gate_arrays_are_fresh() -> None:
    x, t = gate_data("and")
    x[:] = 9
    t[:] = 9
    assert gate_data("and")[1].tolist() == [0, 0, 0, 1]


# ---------------------------------------------------------------------------- splits


def test_stratified_split_iris_counts() -> None:
    _, y, _ = load_iris()
    train, test = stratified_split(y, 0.2, seed=0)
    assert train.dtype == np.int64 and test.dtype == np.int64
    assert len(train) == 120 and len(test) == 30
    assert np.bincount(y[test]).tolist() == [10, 10, 10]
    assert np.bincount(y[train]).tolist() == [40, 40, 40]
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(150))


def test_stratified_split_is_seeded() -> None:
    _, y, _ = load_iris()
    a = stratified_split(y, 0.2, seed=7)
    b = stratified_split(y, 0.2, seed=7)
    c = stratified_split(y, 0.2, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert set(a[1].tolist()) != set(c[1].tolist())


def test_stratified_split_mixes_classes_in_order() -> None:
    _, y, _ = load_iris()
    train, test = stratified_split(y, 0.2, seed=0)
    # the file is sorted by species; the split's order must not be
    assert np.any(np.diff(y[train]) < 0) and np.any(np.diff(y[test]) < 0)


def test_stratified_split_exact_total_by_largest_remainder() -> None:
    y = np.array([0] * 3 + [1] * 3 + [2] * 4)
    _, test = stratified_split(y, 0.5, seed=0)
    assert np.bincount(y[test], minlength=3).tolist() == [2, 1, 2]
    rng = np.random.default_rng(0)
    for _ in range(50):
        y = rng.integers(0, rng.integers(2, 8), rng.integers(5, 200))
        f = float(rng.uniform(0.05, 0.95))
        train, test = stratified_split(y, f, seed=1)
        assert len(test) == int(np.floor(len(y) * f + 0.5))
        assert len(train) + len(test) == len(y)
        assert len(np.intersect1d(train, test)) == 0
        share = np.bincount(y[test], minlength=y.max() + 1)
        assert np.all(np.abs(share - np.bincount(y) * f) < 1 + 1e-9)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_stratified_split_rejects_bad_fraction(fraction: float) -> None:
    with pytest.raises(ValueError):
        stratified_split(np.array([0, 1, 0, 1]), fraction, seed=0)


def test_standardize_uses_train_statistics_only() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 3.0, (200, 3))
    train[:, 2] = 4.2  # constant feature
    test = rng.normal(-1.0, 0.5, (20, 3))
    before = (train.copy(), test.copy())
    mean, std, train_n, test_n = standardize(train, test)
    np.testing.assert_allclose(mean, train.mean(axis=0))
    np.testing.assert_allclose(std[:2], train[:, :2].std(axis=0))
    assert std[2] == 1.0
    np.testing.assert_allclose(train_n[:, :2].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(train_n[:, :2].std(axis=0), 1)
    assert np.all(train_n[:, 2] == 0) and np.all(np.isfinite(test_n))
    np.testing.assert_allclose(test_n, (test - mean) / std)
    np.testing.assert_array_equal(train, before[0])
    np.testing.assert_array_equal(test, before[1])


def test_standardize_dtypes() -> None:
    ints = np.array([[1, 2], [3, 4], [5, 8]])
    mean, std, out = standardize(ints)
    assert out.dtype == mean.dtype == std.dtype == np.float64
    f32 = ints.astype(np.float32)
    assert all(a.dtype == np.float32 for a in standardize(f32, f32))
    with pytest.raises(ValueError):
        standardize(np.empty((0, 2)))


def test_scale_pixels_matches_the_book_and_makes_no_float64_copy(mnist) -> None:
    x = mnist[0][:1000]  # read-only source
    out = scale_pixels(x)
    assert out.dtype == np.float32 and out.shape == x.shape and out.flags.writeable
    np.testing.assert_array_equal(out, x.astype(np.float32) / 255.0)
    assert out.min() == 0.0 and out.max() == 1.0
    tracemalloc.start()
    try:
        scale_pixels(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * x.size * 4  # a float64 intermediate would need 2× the float32 output
    assert scale_pixels(x, np.float64).dtype == np.float64
    with pytest.raises(ValueError):
        scale_pixels(x, np.int32)


def test_one_hot() -> None:
    out = one_hot(np.array([2, 0, 1]), 4)
    assert out.dtype == np.float64
    assert out.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    assert one_hot(np.array([1, 0]), dtype=np.float32).shape == (2, 2)
    with pytest.raises(ValueError):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError):
        one_hot(np.array([-1, 0]), 3)
