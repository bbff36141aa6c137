"""ACME's variable manager for cnnb: registration only (no TensorFlow here).

``acme_mirror`` keeps a copy of the variables on every device and applies the
*mean* of the towers' gradients to each copy, so its updates equal
parameter_server's (one copy, averaged gradients) while every tower reads
local variables. It declares that through its capabilities, which is all
cnnb's core and models look at.
"""

from __future__ import annotations

import cnnb
from cnnb.options import Option


@cnnb.hookimpl
def cnnb_register_variable_managers(registry):
    registry.register("acme_mirror", "acme_manager.mirror:Mirror",
                      "ACME: a copy per device, gradients averaged, then applied to every copy",
                      gradient_reduction="mean", all_reduce_spec=False, multi_worker=False,
                      options=("acme_mirror_log_every",))


@cnnb.hookimpl
def cnnb_add_options(options):
    options.append(Option("acme_mirror_log_every", int, 0, "acme_mirror: print the gradient "
                          "average's device every N traces (0: never).", min=0, group="acme"))
