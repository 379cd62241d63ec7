"""rnnscope from a checkout: ``python main.py [COMMAND] ...`` is the ``rnnscope`` command.

    python main.py                         # the debugger window, with the default demo (LSTM, copy task)
    python main.py run.rnnscope            # open a recorded session in the window
    python main.py train --cell gru --task adding --steps 300 [--out run.rnnscope]
    python main.py --help                  # every command, the window's options and the demos

The command line lives in cli/main.py (``rnnscope --help`` lists it all).
"""

from __future__ import annotations

from rnnscope.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
