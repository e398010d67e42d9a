from biaslint.cli import main

raise SystemExit(main())
