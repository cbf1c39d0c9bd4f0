"""``python -m tinybpf`` is the ``tinybpf`` command.

A Ctrl-C before the command's own error handling is in place (while its modules import) ends it as one
during the run does: quietly, with 130.
"""
import sys

try:
    from tinybpf.cli.main import main

    sys.exit(main())
except KeyboardInterrupt:
    sys.exit(130)
