"""``python -m tinybpf`` is the ``tinybpf`` command."""
import sys

from tinybpf.cli.main import main

sys.exit(main())
