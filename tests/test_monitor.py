"""``kws monitor`` without a device: a port that is not there is waited for with backoff
(never a crash), a malformed port name is one error line.  The runs against real firmware
are in tests/test_board_link.py."""

from __future__ import annotations

import json
import socket

from kws.cli import main


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_missing_port_is_waited_for_with_backoff(capsys) -> None:
    url = f"socket://127.0.0.1:{_closed_port()}"
    assert main(["monitor", "--port", url, "--duration", "2.5", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events and all(e["event"] == "link" and e["state"] == "waiting" for e in events)
    waits = [e["retry_in_s"] for e in events]
    assert waits[:3] == [0.25, 0.5, 1.0]  # doubling, cut short by the duration at the end
    assert "Connection refused" in events[0]["error"]


def test_missing_port_in_words(capsys) -> None:
    url = f"socket://127.0.0.1:{_closed_port()}"
    assert main(["monitor", "--port", url, "--duration", "0.3"]) == 0
    assert "link waiting" in capsys.readouterr().out


def test_malformed_port_name_is_one_error_line(capsys) -> None:
    assert main(["monitor", "--port", "nonsense-scheme://x", "--duration", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot open serial port" in err[0]
