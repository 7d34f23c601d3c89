"""Allow ``python -m relay``, the same as the ``relay`` command."""

from relay.cli import main

main()
