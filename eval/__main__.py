"""`python -m puyu.eval ...` is `puyu eval ...`."""
import sys

from puyu.eval.cli import main

sys.exit(main())
