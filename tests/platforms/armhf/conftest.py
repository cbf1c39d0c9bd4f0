"""Inside the armhf guest (``TINYBPF_GUEST=armhf``), Python is ~20x slower than on the host: property tests
draw fewer examples and have no per-example deadline.  Loaded for any run that names a file in this folder."""
from __future__ import annotations

import os

if os.environ.get("TINYBPF_GUEST") == "armhf":
    from hypothesis import settings

    settings.register_profile("armhf-guest", max_examples=10, deadline=None)
    settings.load_profile("armhf-guest")
