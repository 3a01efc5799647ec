#!/usr/bin/env python3
"""Connect to a modem with python-gsmmodem-new (unmodified) and print what it reports.

Usage: gsmmodem_connect.py PORT

Prints, one per line: manufacturer, model, revision, imei, imsi, signalStrength, networkName.
Used by tests/real_clients.rs; exits non-zero (with a traceback) if the library fails.
"""

import sys

from gsmmodem.modem import GsmModem


def main() -> int:
    port = sys.argv[1]
    modem = GsmModem(port, 115200)
    modem.connect()
    try:
        for value in (
            modem.manufacturer,
            modem.model,
            modem.revision,
            modem.imei,
            modem.imsi,
            modem.signalStrength,
            modem.networkName,
        ):
            print(value, flush=True)
    finally:
        modem.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
