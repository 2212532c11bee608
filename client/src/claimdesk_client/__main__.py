"""``python -m claimdesk_client``: the same as the ``claimdesk-client`` command."""

from ._cli import main

main()
