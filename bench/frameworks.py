"""cnnb versus a plain tf.function loop versus Keras 3 model.fit, per precision and XLA.

For each configuration (model and batch: resnet50 batch 8, resnet20 on CIFAR-10
batch 32, trivial batch 32; synthetic data, sgd, NHWC, CPU) and each mode (fp32,
bf16, fp32 with XLA ``--xla_compile``), runs in this one process, alternating
rounds so machine noise hits all three:

* cnnb: ``cnnb run`` through :mod:`cnnb.api` (``--precision``, ``--xla_compile``);
* plain: a hand-written tf.function loop over the same cnnb-built network
  (:func:`common.plain_loop_images_per_sec`), the floor of framework overhead;
* Keras: ``model.fit`` of the same architecture written in Keras 3 (ResNet-50:
  ``keras.applications.ResNet50``; ResNet-20: the script next door's; trivial:
  Flatten, Dense 1, Dense 4096, Dense), bf16 via Keras's mixed policy.

It prints images/sec (best of the rounds), the ratios cnnb/plain and
cnnb/Keras, and each mode's model-FLOP utilization against the machine's
matmul peak of that precision.

    .venv/bin/python bench/frameworks.py [--configs resnet50,resnet20,trivial]
        [--modes fp32,bf16,xla] [--rounds 2] [--steps N] [--warmup N]

bf16 is emulated on AVX2-only CPUs (no avx512_bf16/amx_bf16) and then ~10-20x
slower than fp32: pass fewer --steps or leave bf16 out there.
"""

from __future__ import annotations

import argparse

from common import cnnb_images_per_sec, keras_fit_images_per_sec, plain_loop_images_per_sec
from resnet20_cifar_vs_keras import keras_resnet20

#: name -> (cnnb model, data_name, batch, timed steps, warm-up steps)
CONFIGS = {"resnet50": ("resnet50", "imagenet", 8, 8, 3),
           "resnet20": ("resnet20", "cifar10", 32, 20, 5),
           "trivial": ("trivial", "imagenet", 32, 50, 5)}
MODES = {"fp32": ("fp32", False), "bf16": ("bf16", False), "xla": ("fp32", True)}


def keras_builder(name: str):
    """A Keras 3 model of the same architecture: build(keras, image_size, classes)."""
    if name == "resnet50":
        return lambda keras, size, classes: keras.applications.ResNet50(
            weights=None, input_shape=(size, size, 3), classes=classes,
            classifier_activation=None)
    if name == "resnet20":
        return lambda keras, size, classes: keras_resnet20(keras)
    return lambda keras, size, classes: keras.Sequential([       # cnnb's trivial
        keras.Input((size, size, 3)), keras.layers.Flatten(),
        keras.layers.Dense(1, activation="relu"), keras.layers.Dense(4096, activation="relu"),
        keras.layers.Dense(classes)])


def run_config(tf, keras, plugins, name: str, mode: str, args) -> dict:
    """Best images/sec of each framework over the alternating rounds."""
    model_name, data_name, batch, steps, warmup = CONFIGS[name]
    steps, warmup = args.steps or steps, args.warmup if args.warmup is not None else warmup
    precision, xla = MODES[mode]
    dataset = plugins.registry("dataset").get(data_name).load()
    model = plugins.registry("model").get(model_name, dataset.model_scope).load()
    classes = dataset.num_classes
    rates = {"cnnb": [], "plain": [], "keras": []}
    for _ in range(args.rounds):
        rates["cnnb"].append(cnnb_images_per_sec(
            plugins, model=model_name, data_name=data_name, batch_size=batch,
            num_batches=steps, num_warmup_batches=warmup, optimizer="sgd",
            precision=precision, xla_compile=xla))
        rates["plain"].append(plain_loop_images_per_sec(
            tf, model, classes, batch, steps, warmup, precision, xla))
        rates["keras"].append(keras_fit_images_per_sec(
            tf, keras, keras_builder(name), batch, model.image_size, classes, steps, warmup,
            precision, xla))
        print(f"  {name} {mode}: " + "  ".join(f"{k} {v[-1]:.2f}" for k, v in rates.items()),
              flush=True)
    best = {k: max(v) for k, v in rates.items()}
    best["flops"] = 3 * model.trace(classes).flops
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="resnet50,resnet20,trivial")
    parser.add_argument("--modes", default="fp32,bf16,xla")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default per model)")
    parser.add_argument("--warmup", type=int, default=None)
    args = parser.parse_args()
    from cnnb.engine.peak import cached_or_measured_peak
    from cnnb.engine.tfsetup import import_tensorflow
    tf = import_tensorflow()            # cnnb's TF settings (oneDNN on) for all three
    import keras
    from cnnb.api import load_plugins
    plugins = load_plugins()
    rows = []
    for name in args.configs.split(","):
        for mode in args.modes.split(","):
            rows.append((name, mode, run_config(tf, keras, plugins, name, mode, args)))
    print(f"{'config':9s} {'mode':5s} {'cnnb':>9s} {'plain':>9s} {'keras':>9s} "
          f"{'cnnb/plain':>10s} {'cnnb/keras':>10s} {'cnnb MFU':>8s}")
    for name, mode, best in rows:
        peak, _ = cached_or_measured_peak(tf, MODES[mode][0], "/cpu:0")
        mfu = best["flops"] * best["cnnb"] / peak
        print(f"{name:9s} {mode:5s} {best['cnnb']:9.2f} {best['plain']:9.2f} "
              f"{best['keras']:9.2f} {best['cnnb'] / best['plain']:10.3f} "
              f"{best['cnnb'] / best['keras']:10.3f} {mfu:8.1%}")


if __name__ == "__main__":
    main()
