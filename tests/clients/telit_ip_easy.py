#!/usr/bin/env python3
"""A GE865 TCP client over pyserial, following the IP Easy outgoing-connection flow.

The flow is the one Telit's "IP Easy User Guide" (80000ST10028 Rev.10, 2011-03-09) describes in
§3.2.1 "IP Easy Outgoing Connection", step by step:

  §3.2.1.1  configure the access: the parameters of context 1      AT+CGDCONT=1,"IP","apn"
  §3.2.1.2  configure the socket (packet size, timeouts)           AT#SCFG=1,1,300,90,600,50
  §3.2.1.3  activate the context; the answer carries the address   AT#SGACT=1,1 → #SGACT: <ip>
            open the connection (socket dial), CONNECT             AT#SD=1,0,<port>,"127.0.0.1"
            exchange raw data; the escape sequence +++ with the
            S12 guard time before and after suspends the socket
            (OK); data arriving while suspended is announced by
            SRING: <connId> (in command mode only)
  §3.2.1.5  close the socket keeping the context                   AT#SH=1
            and, at the end, free the context                      AT#SGACT=1,0

Written for simodem's test suite from the guide's prose; no code was taken from anywhere.

Usage: telit_ip_easy.py PORT SERVER_PORT PAYLOAD

PAYLOAD (ASCII) is sent online as one packet (300 bytes fills <pktSz>, so it leaves at once)
and its echo read back. Prints one line per step, "<command>: <what it parsed>", and exits
non-zero with a message on stderr when an answer is wrong or late (10 s per answer).
"""

import sys
import time

import serial

ANSWER_TIMEOUT = 10.0
# S12 = 50 (1/50 s) → 1 s of silence before and after "+++"; a little more to be sure.
GUARD = 1.2
FINAL = ("OK", "ERROR", "CONNECT", "NO CARRIER")


class Failed(Exception):
    pass


class Modem:
    def __init__(self, path):
        self.port = serial.Serial(path, 115200, timeout=0.1)
        self.buffer = b""

    def _fill(self, deadline, what):
        if time.monotonic() > deadline:
            raise Failed(f"no {what} within {ANSWER_TIMEOUT} s (got {self.buffer!r})")
        self.buffer += self.port.read(4096)

    def line(self, what):
        """The next non-empty line (CR LF framing)."""
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while True:
            while b"\r\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\r\n", 1)
                # An echoed command ends in CR alone: "ATE0\r\r\n".
                line = line.strip(b"\r")
                if line:
                    return line.decode("ascii")
            self._fill(deadline, what)

    def raw(self, count):
        """Exactly `count` bytes of online data."""
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while len(self.buffer) < count:
            self._fill(deadline, f"{count} bytes of data")
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def write(self, data):
        self.port.write(data)
        self.port.flush()

    def command(self, text, want):
        """Sends `text`; returns the information lines before the final result `want`."""
        self.write(text.encode("ascii") + b"\r")
        info = []
        while True:
            line = self.line(f"answer to {text}")
            if line == text:
                continue  # the echo, before ATE0 takes effect
            if line in FINAL or line.startswith("+CME ERROR"):
                if line != want:
                    raise Failed(f"{text}: {line} (want {want}; before it: {info})")
                return info
            info.append(line)


def main():
    path, server_port, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode("ascii")
    modem = Modem(path)
    try:
        for text in ("ATE0", 'AT+CGDCONT=1,"IP","apn"', "AT#SCFG=1,1,300,90,600,50"):
            modem.command(text, "OK")
            print(f"{text}: OK", flush=True)

        info = modem.command("AT#SGACT=1,1", "OK")
        if len(info) != 1 or not info[0].startswith("#SGACT: "):
            raise Failed(f"AT#SGACT=1,1: no address line in {info}")
        address = info[0][len("#SGACT: "):].strip('"')
        print(f"AT#SGACT=1,1: {address}", flush=True)

        dial = f'AT#SD=1,0,{server_port},"127.0.0.1"'
        modem.command(dial, "CONNECT")
        print(f"{dial}: CONNECT", flush=True)

        modem.write(payload)
        echo = modem.raw(len(payload))
        print(f"echo: {echo.decode('ascii', 'replace')}", flush=True)

        time.sleep(GUARD)
        modem.write(b"+++")
        line = modem.line("OK after +++")
        if line != "OK":
            raise Failed(f"+++: {line} (want OK)")
        print("+++: OK", flush=True)
        # The peer echoes the "+++" too (#SKIPESC=0 sends it on): suspended, that is an SRING.
        print(f"urc: {modem.line('SRING')}", flush=True)

        for text in ("AT#SH=1", "AT#SGACT=1,0"):
            modem.command(text, "OK")
            print(f"{text}: OK", flush=True)
    except Failed as e:
        print(f"telit_ip_easy.py: {e}", file=sys.stderr)
        return 1
    finally:
        modem.port.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
