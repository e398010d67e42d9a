"""The TensorFlow backend of the probe: pairing, reproducibility, the metrics, run_model."""

from __future__ import annotations

import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
tf_backend = pytest.importorskip("biaslint.probe.tf_backend")

import keras  # noqa: E402  (after the skip: keras comes with tensorflow)

from biaslint.probe import data  # noqa: E402
from biaslint.probe.spec import Arm, ArmRun, Budget, Layer, Surrogate  # noqa: E402

TFBackend = tf_backend.TFBackend
build = tf_backend.build

ZEROS = Arm("zeros", ())
BUDGET = Budget(steps=40, log_every=10)

CNN = Surrogate(
    "digits_cnn",
    (Layer("conv", 8, "relu"), Layer("conv", 8, "relu"), Layer("dense", 32, "relu")),
    ("truncated_normal", 0.1),
)
MLP = Surrogate("digits_mlp", (Layer("dense", 64, "relu"), Layer("dense", 32, "relu")), ("he_normal", None))


def constant_arm(value: float, layers: int, output: float = 0.0) -> Arm:
    return Arm(
        f"constant {value}", (*((i, ("constant", value)) for i in range(layers)), (-1, ("constant", output)))
    )


@pytest.fixture(scope="module")
def backend() -> TFBackend:
    return TFBackend()


def as_tuple(run: ArmRun) -> tuple[float, ...]:
    extra = [run.accuracy or 0.0, run.dead_relu_frac or 0.0]
    return (run.loss_init, run.loss_final, run.grad_norm, *extra, *run.curve)


def test_backend_contract(backend: TFBackend) -> None:
    assert backend.name == "tensorflow"
    numpy_state = np.random.get_state()[1].copy()
    run = backend.run(CNN, ZEROS, 0, BUDGET)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)  # the caller's RNG is left alone
    assert len(run.curve) == BUDGET.steps // BUDGET.log_every
    assert all(type(v) is float for v in (run.loss_init, run.loss_final, run.grad_norm, *run.curve))
    assert run.accuracy is not None and 0.0 <= run.accuracy <= 1.0
    assert run.dead_relu_frac is not None and 0.0 <= run.dead_relu_frac <= 1.0


def test_same_seed_same_numbers_across_arms_and_backends(backend: TFBackend) -> None:
    other = Arm("normal", ((0, ("normal", 0.5)), (1, ("uniform", 0.3)), (2, ("constant", 0.1))))
    first = backend.run(CNN, other, 3, BUDGET)
    backend.run(CNN, ZEROS, 3, BUDGET)  # the cached network is re-initialised between runs
    again = backend.run(CNN, other, 3, BUDGET)
    fresh = TFBackend().run(CNN, other, 3, BUDGET)
    np.testing.assert_allclose(as_tuple(again), as_tuple(first), rtol=0, atol=1e-6)
    np.testing.assert_allclose(as_tuple(fresh), as_tuple(first), rtol=0, atol=1e-6)
    different_seed = backend.run(CNN, other, 4, BUDGET)
    assert different_seed.loss_init != first.loss_init


def test_arms_share_kernels_but_not_biases() -> None:
    a = build(CNN, ZEROS, 7)
    b = build(CNN, Arm("mixed", ((0, ("normal", 1.0)), (1, ("constant", 1.0)), (-1, ("uniform", 0.5)))), 7)
    names = ["hidden0", "hidden1", "hidden2", "output"]
    for name in names:
        np.testing.assert_array_equal(a.get_layer(name).kernel.numpy(), b.get_layer(name).kernel.numpy())
        assert not a.get_layer(name).bias.numpy().any()
    assert b.get_layer("hidden0").bias.numpy().std() > 0.5
    np.testing.assert_array_equal(b.get_layer("hidden1").bias.numpy(), np.ones(8, np.float32))
    out_bias = b.get_layer("output").bias.numpy()
    assert np.abs(out_bias).max() <= 0.5 and out_bias.std() > 0
    # the weight init of the surrogate, seeded per seed and layer
    kernel = a.get_layer("hidden1").kernel.numpy()
    assert abs(kernel.std() - 0.088) < 0.02 and np.abs(kernel).max() <= 0.2  # truncated at 2 std
    first = a.get_layer("hidden0").kernel.numpy().ravel()
    assert not np.array_equal(kernel.ravel()[: first.size], first)  # each layer has its own stream
    other_seed = build(CNN, ZEROS, 8)
    assert not np.array_equal(kernel, other_seed.get_layer("hidden1").kernel.numpy())


def test_cnn_layout() -> None:
    surrogate = Surrogate(
        "digits_cnn", (Layer("conv", 4, "batchnorm"),) * 6 + (Layer("dense", 8, "tanh"),), ("he_normal", None)
    )
    model = build(surrogate, ZEROS, 0)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("MaxPooling2D") == 2  # after conv 2 (8 -> 4) and conv 4 (4 -> 2), not conv 6
    assert kinds.count("BatchNormalization") == 6 and kinds.count("ReLU") == 6
    assert kinds.index("Flatten") < kinds.index("Dense")
    assert model.output_shape == (None, 10)
    binary = Surrogate(
        "digits_mlp", (Layer("dense", 8, "none"),), ("default", None), output_activation="sigmoid"
    )
    assert build(binary, ZEROS, 0).output_shape == (None, 1)


def test_negative_bias_kills_relus(backend: TFBackend) -> None:
    budget = Budget(steps=5, log_every=5)
    dead = backend.run(CNN, constant_arm(-5.0, 3), 0, budget).dead_relu_frac
    alive = backend.run(CNN, ZEROS, 0, budget).dead_relu_frac
    assert dead is not None and alive is not None
    assert dead >= 0.95
    assert alive < 0.5


def test_dead_fraction_counts_conv_channels() -> None:
    conv = np.zeros((3, 4, 4, 2), np.float32)
    conv[1, 2, 3, 0] = 0.5  # channel 0 fires once, channel 1 never
    dense = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], np.float32)
    assert tf_backend._dead_fraction([conv, dense], [-1, -1]) == pytest.approx(3 / 5)
    assert tf_backend._dead_fraction([], []) is None


def test_training_reduces_loss_and_first_step_matches_by_hand(backend: TFBackend) -> None:
    seed, budget = 2, Budget(steps=60, log_every=20)
    run = backend.run(MLP, ZEROS, seed, budget)
    assert run.loss_final < 0.5 * run.loss_init
    assert run.accuracy is not None and run.accuracy > 0.8
    assert run.curve[0] > run.curve[-1]
    # the first step, by hand, on a freshly built model and the first batch of the seed
    model = build(MLP, ZEROS, seed)
    x_train, y_train, x_test, y_test = data.digits()
    index = data.batch_indices(len(x_train), budget.batch_size, budget.steps, seed)[0]
    xb, yb = x_train[index].reshape(-1, 64), y_train[index]
    with tf.GradientTape() as tape:
        logits = model(xb, training=True)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=logits))
    grads = tape.gradient(loss, model.trainable_variables)
    assert run.curve[0] == pytest.approx(float(loss), rel=1e-5)
    assert run.grad_norm == pytest.approx(float(tf.linalg.global_norm(grads)), rel=1e-5)
    test_logits = model(x_test.reshape(-1, 64))
    test_loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_test, logits=test_logits)
    )
    assert run.loss_init == pytest.approx(float(test_loss), rel=1e-5)


def test_batch_norm_cancels_the_bias_before_it(backend: TFBackend) -> None:
    surrogate = Surrogate("digits_mlp", (Layer("dense", 32, "batchnorm"),), ("he_normal", None))
    budget = Budget(steps=3, log_every=1)
    shifted = backend.run(surrogate, Arm("shifted", ((0, ("constant", -5.0)),)), 0, budget)
    zero = backend.run(surrogate, ZEROS, 0, budget)
    assert shifted.dead_relu_frac == zero.dead_relu_frac  # normalised with the batch's statistics
    assert shifted.loss_init == pytest.approx(zero.loss_init, abs=1e-4)
    assert shifted.curve == pytest.approx(zero.curve, abs=1e-4)


def test_sigmoid_head_and_prior_bias(backend: TFBackend) -> None:
    surrogate = Surrogate(
        "digits_mlp", (Layer("dense", 16, "relu"),), ("normal", 0.01), n_out=1, output_activation="sigmoid"
    )  # tiny weights: the logit at init is about the output bias
    budget = Budget(steps=2, log_every=1)
    prior = -math.log(0.9 / 0.1)
    at_zero = backend.run(surrogate, ZEROS, 0, budget)
    at_prior = backend.run(surrogate, Arm("prior", ((-1, ("constant", prior)),)), 0, budget)
    assert at_zero.loss_init == pytest.approx(math.log(2), abs=0.01)  # p = 0.5 for every digit
    q = float(data.digits(binary=True)[3].mean())  # the test set's rate of zeros, about 9%
    expected = -(q * math.log(0.1) + (1 - q) * math.log(0.9))  # cross-entropy of predicting 10%
    assert at_prior.loss_init == pytest.approx(expected, abs=0.01)
    assert at_prior.accuracy is not None and at_prior.accuracy > 0.85


def test_lstm_forget_bias_arms(backend: TFBackend) -> None:
    surrogate = Surrogate("adding_lstm", (), ("default", None), seq_len=20, hidden_size=8)
    budget = Budget(steps=15, log_every=5)
    for forget in (0.0, 1.0):
        run = backend.run(surrogate, Arm("f", (), forget_bias=forget), 0, budget)
        assert math.isfinite(run.loss_init) and math.isfinite(run.loss_final) and math.isfinite(run.grad_norm)
        assert run.accuracy is None and run.dead_relu_frac is None
        assert len(run.curve) == 3
    bias = build(surrogate, Arm("f", (), forget_bias=2.5), 0).get_layer("lstm").cell.bias.numpy()
    expected = np.zeros(32, np.float32)
    expected[8:16] = 2.5  # gate order i, f, c, o
    np.testing.assert_array_equal(bias, expected)


def small_cnn() -> keras.Model:
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.Conv2D(4, 3),
            layers.ReLU(),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(8, activation="relu"),
            layers.Dense(3),
        ]
    )


def test_run_model_trains_a_copy(backend: TFBackend) -> None:
    keras.utils.set_random_seed(0)
    model = small_cnn()
    before = [w.copy() for w in model.get_weights()]
    kinds = [kind for _, kind in tf_backend.bias_parameters(model)]
    assert kinds == ["conv", "conv", "dense", "output"]
    unbuilt = keras.Sequential(
        [keras.layers.Conv2D(2, 3), keras.layers.Dense(4, use_bias=False), keras.layers.Dense(2)]
    )
    assert [kind for _, kind in backend.bias_parameters(unbuilt, (8, 8, 1))] == ["conv", "output"]
    budget = Budget(steps=20, log_every=10)
    as_built = backend.run_model(model, (8, 8, 1), {}, 0, budget)
    again = backend.run_model(model, (8, 8, 1), {}, 0, budget)
    killed = backend.run_model(
        model, (8, 8, 1), {"all": ("constant", -5.0), "output": ("constant", 0.0)}, 0, budget
    )
    for run in (as_built, killed):
        assert math.isfinite(run.loss_init) and math.isfinite(run.loss_final)
        assert run.accuracy is not None and run.dead_relu_frac is not None
    np.testing.assert_allclose(as_tuple(again), as_tuple(as_built), rtol=0, atol=1e-6)
    assert killed.dead_relu_frac == 1.0 and as_built.dead_relu_frac < 0.5
    assert killed.loss_init == pytest.approx(math.log(3), abs=1e-5)  # the output sees zeros: uniform
    after = model.get_weights()
    assert len(after) == len(before)
    for old, new in zip(before, after):
        np.testing.assert_array_equal(old, new)
    with pytest.raises(ValueError):
        backend.run_model(model, (8, 8, 1), {"gates": ("constant", 0.0)}, 0, budget)
