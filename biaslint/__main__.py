"""``python -m biaslint``: the same as the ``biaslint`` command.

``-m`` puts the working directory first on ``sys.path``; biaslint is run inside trees it must
not trust, whose ``json.py`` or ``libcst.py`` would then shadow the real modules. That entry is
dropped before anything else is imported (the ``biaslint`` package itself is found first).
"""

import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from biaslint.cli import main

raise SystemExit(main())
