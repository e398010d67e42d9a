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


def test_results_do_not_depend_on_which_process_trains_a_chunk() -> None:
    # with PyTorch this process trains chunks beside its workers, taking whichever is next: the
    # runs must be what one process alone gives, run for run
    pytest.importorskip("torch")
    from pathlib import Path

    from biaslint import engine
    from biaslint.config import Settings
    from biaslint.probe import Budget, load_backend, plan_for, run_plans

    path = Path(__file__).resolve().parent.parent / "examples" / "torch_vgg_init.py"
    model = engine.check_source(str(path), path.read_bytes(), Settings())
    plans = [p for p in plan_for(model, model.findings) if p.kind == "train"][:1]
    budget = Budget(seeds=5, steps=20)
    seen: list[tuple[str, int, int]] = []

    def progress(label: str, done: int, total: int) -> None:
        seen.append((label, done, total))

    def losses(jobs: int) -> list[list[float]]:
        results = run_plans(plans, load_backend("torch"), budget, progress, jobs=jobs)
        return [[run.loss_final for arm in r.arms for run in arm.runs] for r in results]

    alone = losses(1)
    seen.clear()
    shared = losses(2)
    assert shared == alone and len(alone[0]) == budget.seeds * len(plans[0].arms)
    # progress reaches every run of each phase, counting up
    assert seen and all(done <= total for _, done, total in seen)
    assert any(done == total for _, done, total in seen)
