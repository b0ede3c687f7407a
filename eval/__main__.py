"""`python -m eval ...` is `puyu eval ...`."""
import sys

from eval.cli import main

sys.exit(main())
