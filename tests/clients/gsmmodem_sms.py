#!/usr/bin/env python3
"""Send or receive one SMS with python-gsmmodem-new (unmodified).

Usage:
  gsmmodem_sms.py send PORT pdu|text NUMBER TEXT
      connect(), sendSms(NUMBER, TEXT) in PDU mode (the library's default) or with
      smsTextMode = True; prints "sent reference=<mr> status=<status>".
  gsmmodem_sms.py receive PORT pdu|text COUNT TIMEOUT_S
      connect() with smsReceivedCallbackFunc, prints "ready", then, as the callback gets each
      message, "from=<number>" and "text=<text>" (the text JSON-quoted, so line breaks and
      non-ASCII show exactly). Returns after COUNT messages; exits 3 if fewer arrive within
      TIMEOUT_S.

Used by tests/sms_clients.rs; exits non-zero (with a traceback) if the library fails.
"""

import json
import sys
import threading
import time

from gsmmodem.modem import GsmModem


def connect(port, mode, callback=None):
    modem = GsmModem(port, 115200, smsReceivedCallbackFunc=callback)
    # Must be set before connect(): connect() sends AT+CMGF from it.
    modem.smsTextMode = mode == "text"
    modem.connect()
    return modem


def send(port, mode, number, text):
    modem = connect(port, mode)
    try:
        sms = modem.sendSms(number, text)
        print(f"sent reference={sms.reference} status={sms.status}", flush=True)
    finally:
        modem.close()
    return 0


def receive(port, mode, count, timeout):
    received = []
    done = threading.Event()

    def on_sms(sms):
        received.append(sms)
        print(f"from={sms.number}", flush=True)
        print(f"text={json.dumps(sms.text, ensure_ascii=False)}", flush=True)
        if len(received) >= count:
            done.set()

    modem = connect(port, mode, on_sms)
    try:
        print("ready", flush=True)
        done.wait(timeout)
        # The library deletes each message (AT+CMGD) right after the callback returns; let
        # that finish before the port closes.
        time.sleep(0.5)
    finally:
        modem.close()
    return 0 if len(received) >= count else 3


def main() -> int:
    action, port, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode not in ("pdu", "text"):
        raise SystemExit(f"mode must be pdu or text, not {mode!r}")
    if action == "send":
        return send(port, mode, sys.argv[4], sys.argv[5])
    if action == "receive":
        return receive(port, mode, int(sys.argv[4]), float(sys.argv[5]))
    raise SystemExit(f"unknown action {action!r}")


if __name__ == "__main__":
    sys.exit(main())
