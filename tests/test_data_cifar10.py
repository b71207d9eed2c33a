"""The CIFAR-10 reader (issue 14): both on-disk versions as cs231n students have them, found
from --data-dir or the environment variable; pickles read by a restricted unpickler that refuses
every global but numpy's array reconstruction before anything runs; every bad file one
DataError naming it. All data here is synthetic (tests/cifar_files.py): there is no CIFAR-10 on
the machine that builds the project."""

from __future__ import annotations

import ast
import os
import pickle
import pickletools
from pathlib import Path

import numpy as np
import pytest
from cifar_files import (
    BIN_NAMES,
    PY_NAMES,
    binary_batch_bytes,
    python_batch_bytes,
    synthetic,
    write_cifar10,
)

from backprop_tui.data.cifar10 import (
    CIFAR10_DIR_ENV,
    CIFAR10_URL,
    NEEDS_CIFAR10,
    cifar10_missing,
    find_cifar10,
    load_cifar10,
    read_batch,
)
from backprop_tui.data.loaders import load_scenario_data, train_size
from backprop_tui.data.spec import CIFAR10_CLASSES, DataSpec
from backprop_tui.errors import DataError

PACKAGE = Path(__file__).resolve().parents[1] / "backprop_tui"


def refused(path: Path, fmt: str, *parts: str) -> str:
    """Reading ``path`` is one DataError line that names the file and every part."""
    with pytest.raises(DataError) as info:
        read_batch(path, fmt)  # type: ignore[arg-type]
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg, msg
    for part in parts:
        assert part in msg, msg
    return msg


# -- both versions read ------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "protocol"), [("python", "py2"), ("python", 2), ("python", 4),
                                               ("python", 5), ("binary", "py2")])
def test_every_version_reads_back_the_pictures_it_was_written_with(tmp_path, fmt, protocol):
    write_cifar10(tmp_path, fmt, per_batch=30, n_test=20, protocol=protocol)
    x_tr, y_tr, x_te, y_te = load_cifar10(tmp_path)
    assert x_tr.shape == (150, 3072) and x_te.shape == (20, 3072)
    assert x_tr.dtype == np.uint8 and y_tr.dtype == np.int64 and y_te.dtype == np.int64
    for i in range(5):  # the five training batches in order, then the test batch
        x, y = synthetic(30, i)
        assert np.array_equal(x_tr[30 * i:30 * (i + 1)], x)
        assert np.array_equal(y_tr[30 * i:30 * (i + 1)], y)
    x, y = synthetic(20, 5)
    assert np.array_equal(x_te, x) and np.array_equal(y_te, y)
    assert not (x_tr.flags.writeable or y_tr.flags.writeable or x_te.flags.writeable)


def test_the_py2_file_is_what_cpickle_wrote(tmp_path) -> None:
    # the synthetic "python version" holds Python 2 strings (SHORT_BINSTRING/BINSTRING) and
    # names numpy.core, as the real files do: read with encoding="bytes" its keys are bytes
    x, y = synthetic(4, 0)
    raw = python_batch_bytes(x, y.tolist())
    assert raw[:2] == b"\x80\x02" and b"cnumpy.core.multiarray\n_reconstruct\n" in raw
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(raw)]
    assert ("SHORT_BINSTRING", "data") in ops and ("BINSTRING", x.tobytes().decode("latin1")) \
        in ops  # pickletools shows Python 2 strings decoded as latin-1
    # nothing a Python 3 pickler would write: no bytes or unicode opcodes, no _codecs.encode
    assert not {name for name, _ in ops} & {"BINBYTES", "SHORT_BINBYTES", "BINUNICODE",
                                            "SHORT_BINUNICODE", "STACK_GLOBAL"}
    assert ("GLOBAL", "numpy.core.multiarray _reconstruct") in ops
    assert [arg for name, arg in ops if name == "GLOBAL"] == [
        "numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"]


def test_sizes_take_the_first_pictures_and_read_only_the_files_they_need(tmp_path) -> None:
    folder = write_cifar10(tmp_path, "python", per_batch=30, n_test=20)
    (folder / "data_batch_5").write_bytes(b"corrupt")  # not needed for the first 40
    x_tr, y_tr, x_te, y_te = load_cifar10(tmp_path, train_size=40, test_size=5)
    assert x_tr.shape == (40, 3072) and len(y_te) == 5
    assert np.array_equal(x_tr[30:], synthetic(30, 1)[0][:10])
    with pytest.raises(DataError, match="data_batch_5"):
        load_cifar10(tmp_path)  # the whole set reads it, and says which file is bad


def test_scenario_data_scales_and_lays_out_channel_major(tmp_path) -> None:
    write_cifar10(tmp_path, "binary", per_batch=10, n_test=10)
    flat = DataSpec("cifar10", normalize="scale", train_size=25, test_size=4)
    image = DataSpec("cifar10", normalize="scale", layout="image", train_size=25, test_size=4)
    assert flat.input_shape == (3072,) and image.input_shape == (3, 32, 32)
    assert flat.image_shape == image.image_shape == (3, 32, 32)
    assert flat.class_names() == CIFAR10_CLASSES and len(CIFAR10_CLASSES) == 10
    assert flat.label == "CIFAR-10 (5,000/500)".replace("5,000", "25").replace("500", "4")
    assert DataSpec("cifar10").label == "CIFAR-10 (50k/10k)"
    xf, tf, xte, _ = load_scenario_data(flat, flat.input_shape, tmp_path, np.dtype("float32"))
    xi, _, _, _ = load_scenario_data(image, image.input_shape, tmp_path, np.dtype("float32"))
    raw = synthetic(10, 0)[0]
    assert xf.shape == (25, 3072) and xi.shape == (25, 3, 32, 32) and xte.shape == (4, 3072)
    assert xf.dtype == np.float32 and float(xf.max()) <= 1.0
    np.testing.assert_allclose(xi[3, 1], raw[3, 1024:2048].reshape(32, 32) / 255, rtol=1e-6)
    assert train_size(flat, tmp_path) == 25 and len(tf) == 25


# -- where the files are -------------------------------------------------------------------------
def test_found_in_the_batches_folder_its_parent_or_the_env_var(tmp_path, monkeypatch) -> None:
    py = write_cifar10(tmp_path / "a", "python", per_batch=2, n_test=2)
    binary = write_cifar10(tmp_path / "b", "binary", per_batch=2, n_test=2)
    assert find_cifar10(py).folder == py and find_cifar10(py).format == "python"
    assert find_cifar10(tmp_path / "a").folder == py  # cs231n's datasets folder holds it
    assert find_cifar10(tmp_path / "b").format == "binary"
    assert find_cifar10(binary).test == binary / "test_batch.bin"
    monkeypatch.setenv(CIFAR10_DIR_ENV, str(tmp_path / "b"))
    assert find_cifar10().folder == binary and cifar10_missing() is None
    monkeypatch.setenv(CIFAR10_DIR_ENV, "")
    assert cifar10_missing() == NEEDS_CIFAR10 == "needs CIFAR-10 (see README)"


def test_no_data_says_where_to_get_it_and_where_to_put_it(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(CIFAR10_DIR_ENV, raising=False)
    for args, words in [((), ["no --data-dir given", f"${CIFAR10_DIR_ENV} is not set"]),
                        ((tmp_path / "nowhere",), ["does not exist", "from --data-dir"]),
                        ((tmp_path,), ["no CIFAR-10 batches", "cifar-10-batches-py"])]:
        with pytest.raises(DataError) as info:
            load_cifar10(*args)
        msg = str(info.value)
        assert "\n" not in msg
        for word in [*words, CIFAR10_URL, "python version", "binary version",
                     "get_datasets.sh", "--data-dir", CIFAR10_DIR_ENV]:
            assert word in msg, (word, msg)


def test_incomplete_folder_and_an_unextracted_archive(tmp_path) -> None:
    folder = write_cifar10(tmp_path / "x", "binary", per_batch=2, n_test=2)
    (folder / "test_batch.bin").unlink()
    (folder / "data_batch_3.bin").unlink()
    with pytest.raises(DataError) as info:
        load_cifar10(tmp_path / "x")
    assert "missing data_batch_3.bin, test_batch.bin" in str(info.value)
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "cifar-10-python.tar.gz").write_bytes(b"\x1f\x8b")
    with pytest.raises(DataError, match="Extract it first: tar -xzf"):
        load_cifar10(tmp_path / "y")


# -- the restricted unpickler --------------------------------------------------------------------
class _System:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Eval:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("kind", ["system", "eval", "inside"])
def test_a_pickle_that_would_run_code_is_refused_before_anything_runs(tmp_path, protocol, kind):
    marker = tmp_path / "pwned"
    x, y = synthetic(3, 0)
    if kind == "system":
        payload: object = _System(f"touch {marker}")
        name = f"{os.system.__module__}.system"  # posix.system
    elif kind == "eval":
        payload = _Eval(f"open({str(marker)!r}, 'w').close()")
        name = "__builtin__.eval" if protocol < 3 else "builtins.eval"  # Python 2's name
    else:  # a valid batch first, the payload deep inside it
        payload = {b"data": x, b"labels": y.tolist(), b"extra": [1, {b"k": _System(
            f"touch {marker}")}]}
        name = f"{os.system.__module__}.system"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(payload, protocol=protocol))
    refused(path, "python", f"refused to unpickle the global {name}", "nothing of this file "
            "was run")
    assert not marker.exists()
    if kind == "system":  # the test is real: a general unpickler would have run it
        pickle.loads(path.read_bytes())
        assert marker.exists()


@pytest.mark.parametrize("module, name", [("builtins", "getattr"), ("__builtin__", "eval"),
                                          ("numpy", "load"), ("numpy.lib.npyio", "load"),
                                          ("subprocess", "Popen"), ("copy_reg", "_reconstructor"),
                                          ("numpy.core.multiarray", "scalar")])
def test_only_the_array_globals_are_admitted(tmp_path, module, name) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R.")
    refused(path, "python", f"global {module}.{name}")


def test_codecs_encode_only_as_pythons_bytes_writer(tmp_path) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x05\x00\x00\x00rot13"
                     b"\x86R.")
    refused(path, "python", "not a readable pickle", "latin1")


def test_persistent_ids_are_refused(tmp_path) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x02X\x01\x00\x00\x00aQ.")  # BINPERSID
    refused(path, "python", "not a readable pickle", "persistent id")


def test_no_general_unpickling_anywhere_in_the_package() -> None:
    """pickle.load/loads/Unpickler and numpy's allow_pickle=True appear nowhere but in the
    restricted reader (which subclasses Unpickler and loads only through it)."""
    offenders = []
    for file in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("load", "loads", "Unpickler") \
                    and isinstance(node.value, ast.Name) and node.value.id in ("pickle",
                                                                                "cPickle"):
                if not (file.name == "cifar10.py" and node.attr == "Unpickler"):
                    offenders.append(f"{file.name}:{node.lineno} pickle.{node.attr}")
            if isinstance(node, ast.keyword) and node.arg == "allow_pickle" and not (
                    isinstance(node.value, ast.Constant) and node.value.value is False):
                offenders.append(f"{file.name}:{node.lineno} allow_pickle")
            if isinstance(node, ast.ImportFrom) and node.module in ("pickle", "_pickle",
                                                                    "dill", "joblib"):
                offenders.append(f"{file.name}:{node.lineno} from {node.module} import")
    assert offenders == []


# -- corrupt, truncated and foreign files --------------------------------------------------------
def test_binary_truncated_empty_and_bad_labels(tmp_path) -> None:
    x, y = synthetic(5, 0)
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(binary_batch_bytes(x, y)[:-100])
    refused(path, "binary", "15,265 bytes is not a whole number of records", "truncated",
            "3,073 bytes")
    path.write_bytes(b"")
    refused(path, "binary", "empty")
    y[3] = 10
    path.write_bytes(binary_batch_bytes(x, y))
    refused(path, "binary", "the label byte of record 3 is 10, outside 0–9")


def test_binary_foreign_file_is_refused(tmp_path) -> None:
    # a python-version pickle given as a binary batch: its size is no whole number of records
    # (and its first "label" would be 0x80)
    x, y = synthetic(5, 0)
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(python_batch_bytes(x, y.tolist()))
    refused(path, "binary", "not a whole number of records")
    path.write_bytes(bytes([128]) + bytes(3072))
    refused(path, "binary", "is 128, outside 0–9")


@pytest.mark.parametrize("protocol", ["py2", 4])
def test_python_wrong_labels(tmp_path, protocol) -> None:
    x, y = synthetic(6, 0)
    path = tmp_path / "data_batch_1"
    for labels, words in [([0, 1, 2, 3, 12, 5], ["b'labels' of entry 4 is 12, outside 0–9"]),
                          ([0, 1, 2], ["6 pictures but 3 labels"])]:
        path.write_bytes(python_batch_bytes(x, labels, protocol))
        refused(path, "python", *words)
    path.write_bytes(python_batch_bytes(x, [0, -1, 2, 3, 4, 5], 4))
    refused(path, "python", "entry 1 is -1")


def test_python_wrong_contents(tmp_path) -> None:
    x, y = synthetic(4, 0)
    path = tmp_path / "test_batch"
    cases = [
        ([x, y.tolist()], "the pickle holds a list, not a dict"),
        ({b"data": x}, "no b'labels' key"),
        ({b"data": x.astype(np.float32), b"labels": y.tolist()}, "float32 array"),
        ({b"data": x[:, :1024], b"labels": y.tolist()}, "shape (4, 1024)"),
        ({b"data": x.tobytes(), b"labels": y.tolist()}, "b'data' is a bytes"),
        ({b"data": x, b"labels": "0123"}, "not a list of ints"),
        ({"data": x, "labels": [0, 1, 2, 2**70]}, "too large"),
    ]
    for doc, words in cases:
        path.write_bytes(pickle.dumps(doc, protocol=4))
        refused(path, "python", words)
    path.write_bytes(pickle.dumps({"data": x, "labels": y.tolist()}, protocol=4))
    assert read_batch(path, "python")[0].shape == (4, 3072)  # str keys read too


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n" + bytes(40), b"hello world\n",
                                     "half"])
def test_python_foreign_or_truncated_file(tmp_path, content) -> None:
    path = tmp_path / "data_batch_1"
    if content == "half":
        x, y = synthetic(4, 0)
        content = python_batch_bytes(x, y.tolist())
        content = content[:len(content) // 2]
    path.write_bytes(content)
    refused(path, "python", "not a readable pickle", "a CIFAR-10 python-version batch")


def test_every_batch_name_is_what_the_archives_unpack_to() -> None:
    assert PY_NAMES == ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                        "data_batch_5", "test_batch")
    assert BIN_NAMES == tuple(f"{n}.bin" for n in PY_NAMES)
