"""``python -m tensortrio.cli``: the ``tensortrio`` command."""

from tensortrio.cli.main import main

raise SystemExit(main())
