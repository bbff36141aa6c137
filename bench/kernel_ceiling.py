"""How close a training step comes to its own kernels, and they to the matmul peak.

`cnnb peak` measures large square matmuls: what the cores can do. A real model
at a real batch runs convolution kernels (oneDNN on x86 CPUs) that reach less
than that for their shapes, and a step adds batch norm, activations, the
update and the framework around them. This script separates the two gaps:

1. it lists every convolution and dense layer of the model (cnnb's shape
   trace) and times each one alone in a tf.function: the forward kernel, then
   forward plus both backward kernels (input and weight gradients; no input
   gradient for the first layer, as in training). Summed over the layers that
   is the time these kernels alone need per step, a ceiling on images/sec for
   this model, batch and machine that no framework can pass;
2. it runs `cnnb run` on the same model and batch, in this process,
   alternating with the kernel timings so machine noise hits both.

It prints the kernels' FLOP/s against the matmul peak (the gap that lies in
the kernels) and cnnb's images/sec against the ceiling (the gap that lies in
everything else), and the layers that reach the least of the peak.

    .venv/bin/python bench/kernel_ceiling.py [--model resnet50] [--batch_size 8]
        [--rounds 2] [--steps 10] [--warmup 3] [--top 8]
"""

from __future__ import annotations

import argparse
import collections
import time

from common import add_training_arguments, cnnb_images_per_sec
from cnnb.utilization import flops_per_image

#: one layer's kernel work: op, input dims, kernel shape, strides, padding, FLOPs
Layer = collections.namedtuple("Layer", "op dims kernel strides padding flops first")


def record_layers(model, num_classes: int, batch_size: int) -> list[Layer]:
    """Every convolution and dense layer the model runs, from cnnb's shape trace."""
    from cnnb.builder import ConvNetBuilder
    from cnnb.shapes import Shape, ShapeBackend

    class Recorder(ShapeBackend):
        def __init__(self):
            super().__init__()
            self.layers = []

        def _note(self, op, x, kernel, strides, padding, before):
            first = not self.layers
            self.layers.append(Layer(op, x.dims, kernel.shape, tuple(strides), padding,
                                     self.flops - before, first))

        def conv2d(self, x, kernel, strides, padding, data_format):
            before, out = self.flops, super().conv2d(x, kernel, strides, padding, data_format)
            self._note("conv2d", x, kernel, strides, padding, before)
            return out

        def depthwise_conv2d(self, x, kernel, strides, padding, data_format):
            before = self.flops
            out = super().depthwise_conv2d(x, kernel, strides, padding, data_format)
            self._note("depthwise", x, kernel, strides, padding, before)
            return out

        def matmul_bias(self, x, weights, biases):
            before, out = self.flops, super().matmul_bias(x, weights, biases)
            self._note("dense", x, weights, (), "", before)
            return out

    backend = Recorder()
    size = model.image_size
    cnn = ConvNetBuilder(backend, Shape((batch_size, size, size, 3)), 3, True, "NHWC")
    model.build_network(cnn, num_classes)
    return backend.layers


def layer_functions(tf, layer: Layer):
    """(forward, forward and backward) tf.functions of one layer on random inputs."""
    x = tf.random.normal(layer.dims)
    w = tf.random.normal(layer.kernel)
    ops = {"conv2d": lambda a, b: tf.nn.conv2d(a, b, layer.strides, layer.padding),
           "depthwise": lambda a, b: tf.nn.depthwise_conv2d(a, b, layer.strides,
                                                            layer.padding),
           "dense": tf.matmul}
    apply = ops[layer.op]
    upstream = tf.random.normal(apply(x, w).shape)
    sources = [w] if layer.first else [x, w]

    @tf.function
    def forward():
        return apply(x, w)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(sources)
            y = apply(x, w)
        return y, tape.gradient(y, sources, output_gradients=upstream)

    return forward, forward_backward


def best_seconds(function, repeats: int = 5) -> float:
    """The fastest of a few calls after two warm-up calls: the kernel's own speed."""
    function()
    function()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return min(times)


def time_layers(tf, layers: list[Layer]) -> list[tuple[Layer, float, float]]:
    """(layer, forward seconds, forward+backward seconds), one timing per distinct shape."""
    cache = {}
    timed = []
    for layer in layers:
        key = layer._replace(flops=0)
        if key not in cache:
            forward, both = layer_functions(tf, layer)
            cache[key] = (best_seconds(forward), best_seconds(both))
        timed.append((layer, *cache[key]))
    return timed


def training_flops(layer: Layer) -> int:
    """The layer's work in a training step: forward, weight gradient and (but for
    the first layer) input gradient, each as costly as the forward op."""
    return layer.flops * (2 if layer.first else 3)


def report(name, batch, peak, timed, cnnb_rates, model_flops: int, top: int) -> None:
    """``model_flops``: cnnb's flops_per_image for training (what its MFU uses)."""
    forward = sum(f for _, f, _ in timed)
    total = sum(t for _, _, t in timed)
    flops = sum(training_flops(layer) for layer, _, _ in timed)
    ceiling, cnnb = batch / total, max(cnnb_rates)
    print(f"{name} batch {batch}: {len(timed)} conv/dense layers, "
          f"{flops / batch / 1e9:.2f} GFLOP per training image; matmul peak "
          f"{peak / 1e9:.1f} GFLOP/s")
    print(f"kernels alone: forward {forward * 1e3:.0f} ms + backward "
          f"{(total - forward) * 1e3:.0f} ms per step = {flops / total / 1e9:.1f} GFLOP/s "
          f"({flops / total / peak:.0%} of the matmul peak); ceiling {ceiling:.2f} images/sec")
    print(f"cnnb: {cnnb:.2f} images/sec (rounds: "
          f"{', '.join(f'{r:.2f}' for r in cnnb_rates)}) = {cnnb / ceiling:.0%} of the "
          f"ceiling, model FLOP utilization {cnnb * model_flops / peak:.0%}")
    print("layers furthest from the peak (forward+backward):")
    distinct = {(layer._replace(flops=0), t, training_flops(layer)) for layer, _, t in timed}
    for layer, seconds, work in sorted(distinct, key=lambda item: item[2] / item[1])[:top]:
        print(f"  {layer.op:9s} {'x'.join(map(str, layer.dims))} kernel "
              f"{'x'.join(map(str, layer.kernel))} stride {layer.strides[1:3] or '-'}: "
              f"{work / seconds / 1e9:6.1f} GFLOP/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_training_arguments(parser)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    from cnnb.api import load_plugins
    from cnnb.engine.peak import cached_or_measured_peak
    from cnnb.engine.tfsetup import import_tensorflow
    tf = import_tensorflow()
    plugins = load_plugins()
    dataset = plugins.registry("dataset").get("imagenet").load()
    model = plugins.registry("model").get(args.model, dataset.model_scope).load()
    layers = record_layers(model, dataset.num_classes, args.batch_size)
    peak, _ = cached_or_measured_peak(tf, "fp32", "/cpu:0")
    best, rates = None, []
    for _ in range(args.rounds):
        timed = time_layers(tf, layers)
        if best is None or sum(t for *_, t in timed) < sum(t for *_, t in best):
            best = timed
        rates.append(cnnb_images_per_sec(plugins, model=args.model, batch_size=args.batch_size,
                                         num_batches=args.steps,
                                         num_warmup_batches=args.warmup, optimizer="sgd"))
    model_flops = flops_per_image(model, dataset.num_classes, model.image_size, training=True)
    report(args.model, args.batch_size, peak, best, rates, model_flops, args.top)


if __name__ == "__main__":
    main()
