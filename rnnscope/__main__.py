"""``python -m rnnscope ...``: the rnnscope command (rnnscope.cli.main), e.g. the window that
``rnnscope.attach(..., window=True)`` starts on its session file."""

from rnnscope.cli.main import main

raise SystemExit(main())
