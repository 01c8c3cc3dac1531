import sys

from netconf_device.cli import main

sys.exit(main())
