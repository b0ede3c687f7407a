import sys

from puyu.cli import main

sys.exit(main())
