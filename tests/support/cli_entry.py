"""``bme-cds`` with the test services instead of the installed content (for CLI tests in a subprocess).

The CLI is what is under test here, not the clinical content, so the app
factory is pointed at :class:`StaticServicesProvider`; gunicorn workers
inherit the patch through fork.
"""

from cds_hooks import app
from cds_hooks.cli import main
from support.store_auth import StaticServicesProvider

app.load_providers = lambda names=(): [StaticServicesProvider()]

if __name__ == "__main__":
    main()
