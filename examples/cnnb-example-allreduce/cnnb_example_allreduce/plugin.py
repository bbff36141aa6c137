"""Registers the ``tree`` all-reduce with cnnb (the module the entry point names).

Registration only, no TensorFlow: the algorithm class is named as a lazy
``"module:Class"`` string, imported when a run's ``--all_reduce_spec`` uses it.
"""

import cnnb


@cnnb.hookimpl
def cnnb_register_allreduce(registry):
    registry.register("tree", "cnnb_example_allreduce.tree:TreeAllReduce",
                      "Example plugin: pairwise sums up a binary tree, copies back down",
                      devices="any", multi_worker=False)
