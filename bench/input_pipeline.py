"""Input-pipeline throughput, and ResNet-50 training on real-format data versus synthetic.

1. The ImageNet preprocessing alone: images/sec of JPEG decode + preprocessing
   from TFRecord shards (training with and without distortions, evaluation),
   with no model attached.
2. ResNet-50 training (batch 8, sgd, NHWC, CPU) through cnnb's engine on those
   shards and on synthetic data, alternating the two so machine noise hits
   both. The predecessor trained ResNet-50 at batch 8 on ImageNet-format
   TFRecords as fast as on synthetic data; the ratio says whether cnnb does.

Without --data_dir it writes fake ImageNet-format shards (ImageNet-like image
sizes) into a temporary directory first.

    .venv/bin/python bench/input_pipeline.py [--data_dir DIR] [--steps 10] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from common import add_training_arguments, cnnb_images_per_sec


def fake_imagenet(directory: str, count: int) -> str:
    from cnnb.plugins.datasets.fakedata import FakeDataRequest, write_imagenet
    write_imagenet(FakeDataRequest(out=directory, num_train=count, num_validation=count // 4,
                                   num_classes=100, min_size=300, max_size=500, shards=8))
    return directory


def pipeline_rate(data_dir: str, training: bool, distortions: bool, batches: int,
                  batch_size: int = 32, image_size: int = 224) -> float:
    """images/sec of the ImageNet preprocessor alone (after 3 warm-up batches)."""
    from cnnb.dataset import InputOptions
    from cnnb.plugins.datasets import IMAGENET
    from cnnb.plugins.datasets.imagenet import ImagenetPreprocessor
    files = IMAGENET.locate(data_dir, "train" if training else "validation")
    preprocessor = ImagenetPreprocessor(IMAGENET, image_size,
                                        InputOptions(distortions=distortions))
    iterator = iter(preprocessor.make_dataset(files, batch_size, training))
    for _ in range(3):
        next(iterator)[0].numpy()
    began = time.perf_counter()
    for _ in range(batches):
        next(iterator)[0].numpy()
    return batch_size * batches / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", help="ImageNet-format TFRecords (default: write fake ones)")
    parser.add_argument("--num_images", type=int, default=512, help="fake training images")
    parser.add_argument("--pipeline_batches", type=int, default=20)
    add_training_arguments(parser)
    args = parser.parse_args()

    from cnnb.engine.tfsetup import import_tensorflow
    from cnnb.api import load_plugins
    tf = import_tensorflow()
    data_dir = args.data_dir or fake_imagenet(tempfile.mkdtemp(prefix="cnnb-bench-"),
                                              args.num_images)
    print(f"data: {data_dir}   TensorFlow {tf.__version__}")
    stages = {"train preprocessing (distortions)": (True, True),
              "train preprocessing (no distortions)": (True, False),
              "eval preprocessing": (False, False)}
    pipeline = {name: pipeline_rate(data_dir, training, distortions, args.pipeline_batches)
                for name, (training, distortions) in stages.items()}
    for name, rate in pipeline.items():
        print(f"{name:40s} {rate:9.1f} images/sec")

    plugins = load_plugins()
    real, synthetic = [], []
    for _ in range(args.repeats):
        flags = dict(model=args.model, batch_size=args.batch_size, num_batches=args.steps,
                     num_warmup_batches=args.warmup, optimizer="sgd")
        synthetic.append(cnnb_images_per_sec(plugins, **flags))
        real.append(cnnb_images_per_sec(plugins, data_dir=data_dir, data_name="imagenet",
                                        **flags))
    real_rate, synthetic_rate = statistics.median(real), statistics.median(synthetic)
    print(f"{args.model} training, batch {args.batch_size}, synthetic data: "
          f"{synthetic_rate:8.2f} images/sec  (runs: {', '.join(f'{r:.2f}' for r in synthetic)})")
    print(f"{args.model} training, batch {args.batch_size}, TFRecord data:  "
          f"{real_rate:8.2f} images/sec  (runs: {', '.join(f'{r:.2f}' for r in real)})")
    print(f"ratio real/synthetic training:               {real_rate / synthetic_rate:6.3f}")
    slowest = min(pipeline.values())
    print(f"ratio slowest preprocessing/real training:   {slowest / real_rate:6.1f}  "
          "(how much faster the input pipeline is than the model needs)")

if __name__ == "__main__":
    main()
