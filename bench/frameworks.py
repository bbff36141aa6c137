"""cnnb versus a plain tf.function loop versus Keras 3 model.fit, per precision and XLA.

For each configuration (model and batch: resnet50 batch 8, resnet20 on CIFAR-10
batch 32, trivial batch 32; synthetic data, sgd, NHWC, CPU) and each mode (fp32,
bf16, fp32 with XLA ``--xla_compile``), builds all three in this one process
and warms them up:

* cnnb: the plan, step and timed loop of ``cnnb run`` (``--precision``,
  ``--xla_compile``), through :func:`common.cnnb_stepper`;
* plain: a hand-written tf.function loop over the same cnnb-built network
  (:func:`common.plain_step`), the floor of framework overhead;
* Keras: ``model.fit`` of the same architecture written in Keras 3 (ResNet-50:
  ``keras.applications.ResNet50``; ResNet-20: the script next door's; trivial:
  Flatten, Dense 1, Dense 4096, Dense), bf16 via Keras's mixed policy.

then times them in short blocks of steps, interleaved (cnnb, plain, Keras,
then the next round in rotated order), so a shared machine's slow spells hit
all three alike: on these machines whole runs a minute apart differed by up
to 2x, adjacent blocks by a few percent. It prints each framework's median
images/sec over the blocks, the ratios cnnb/plain and cnnb/Keras as the
median of the per-round ratios of adjacent blocks, and cnnb's model-FLOP
utilization against the machine's matmul peak of that precision.

    .venv/bin/python bench/frameworks.py [--configs resnet50,resnet20,trivial]
        [--modes fp32,bf16,xla] [--rounds 7] [--block N] [--warmup N]

bf16 is emulated on AVX2-only CPUs (no avx512_bf16/amx_bf16) and then ~10-20x
slower than fp32: pass a smaller --block or leave bf16 out there.
"""

from __future__ import annotations

import argparse
import statistics

from common import cnnb_stepper, keras_stepper, plain_stepper
from cnnb.utilization import flops_per_image
from resnet20_cifar_vs_keras import keras_resnet20

#: name -> (cnnb model, data_name, batch, steps per block, warm-up steps)
CONFIGS = {"resnet50": ("resnet50", "imagenet", 8, 1, 3),
           "resnet20": ("resnet20", "cifar10", 32, 8, 5),
           "trivial": ("trivial", "imagenet", 32, 40, 5)}
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
    """Median images/sec of each framework and the paired ratios over the rounds."""
    model_name, data_name, batch, block, warmup = CONFIGS[name]
    block, warmup = args.block or block, args.warmup if args.warmup is not None else warmup
    precision, xla = MODES[mode]
    dataset = plugins.registry("dataset").get(data_name).load()
    model = plugins.registry("model").get(model_name, dataset.model_scope).load()
    classes = dataset.num_classes
    runners = {
        "cnnb": cnnb_stepper(plugins, warmup, model=model_name, data_name=data_name,
                             batch_size=batch, optimizer="sgd", precision=precision,
                             xla_compile=xla),
        "plain": plain_stepper(tf, model, classes, batch, warmup, precision, xla),
        "keras": keras_stepper(tf, keras, keras_builder(name), batch, model.image_size,
                               classes, warmup, precision, xla)}
    rates = {key: [] for key in runners}
    for round_index in range(args.rounds):
        order = list(runners)[round_index % 3:] + list(runners)[:round_index % 3]
        for key in order:
            rates[key].append(batch * block / runners[key](block))
        print(f"  {name} {mode}: " + "  ".join(f"{k} {v[-1]:.2f}" for k, v in rates.items()),
              flush=True)
    summary = {key: statistics.median(values) for key, values in rates.items()}
    for other in ("plain", "keras"):
        summary[f"cnnb/{other}"] = statistics.median(
            c / o for c, o in zip(rates["cnnb"], rates[other]))
    summary["flops"] = flops_per_image(model, classes, model.image_size, training=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="resnet50,resnet20,trivial")
    parser.add_argument("--modes", default="fp32,bf16,xla")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--block", type=int, default=None,
                        help="timed steps per block (default per model)")
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
    for name, mode, row in rows:
        peak, _ = cached_or_measured_peak(tf, MODES[mode][0], "/cpu:0")
        print(f"{name:9s} {mode:5s} {row['cnnb']:9.2f} {row['plain']:9.2f} {row['keras']:9.2f} "
              f"{row['cnnb/plain']:10.3f} {row['cnnb/keras']:10.3f} "
              f"{row['flops'] * row['cnnb'] / peak:8.1%}")


if __name__ == "__main__":
    main()
