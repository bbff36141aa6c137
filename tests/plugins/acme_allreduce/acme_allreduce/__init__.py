"""ACME's all-reduce backend for cnnb: registration only.

This module is what the ``cnnb`` entry point names. It must stay cheap and
must not import TensorFlow; the algorithm itself lives in
:mod:`acme_allreduce.algorithm`, imported only when a run's
``--all_reduce_spec`` names ``acme``.
"""

import cnnb


@cnnb.hookimpl
def cnnb_register_allreduce(registry):
    registry.register("acme", "acme_allreduce.algorithm:AcmeAllReduce",
                      "ACME example: each tensor summed on one device, then copied back",
                      devices="any", multi_worker=False)
