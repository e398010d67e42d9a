"""The probe's worker processes: one thread each, and never forked from a process that has run
a framework (a fork copies locks that the parent's threads hold, and the child hangs)."""

from __future__ import annotations

import pytest

from biaslint.probe import worker_pool


def torch_threads(_: int = 0) -> int:
    import torch

    return torch.get_num_threads()


def tf_threads() -> tuple[int, int]:
    import tensorflow as tf

    return (
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )


def test_torch_workers_have_one_thread_after_the_parent_trained() -> None:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)
    torch.ones(512, 512) @ torch.ones(512, 512)  # the parent has run OpenMP work
    with worker_pool("torch", 2) as pool:
        assert list(pool.map(torch_threads, range(4))) == [1, 1, 1, 1]
        assert pool._mp_context.get_start_method() == "forkserver"  # type: ignore[attr-defined]


def test_tensorflow_workers_are_spawned_with_one_thread() -> None:
    tf = pytest.importorskip("tensorflow")
    tf.constant([1.0]) + 1.0  # the parent's TensorFlow runtime is up, with its threads
    with worker_pool("tensorflow", 1) as pool:
        assert pool.submit(tf_threads).result(timeout=120) == (1, 1)
        assert pool._mp_context.get_start_method() == "spawn"  # type: ignore[attr-defined]
