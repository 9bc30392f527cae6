"""`make run`: this machine only by default, the local network when asked (a tester's own phone)."""
import subprocess
from pathlib import Path

import pytest

from zaloan.config import dev_address

ROOT = Path(__file__).resolve().parent.parent


def test_the_development_server_listens_on_this_machine_unless_told():
    assert dev_address({}) == ("127.0.0.1", 5000)
    assert dev_address({"HOST": "0.0.0.0"}) == ("0.0.0.0", 5000)
    assert dev_address({"HOST": "0.0.0.0", "PORT": "8080"}) == ("0.0.0.0", 8080)


@pytest.mark.parametrize("env, wanted", [({}, "HOST=127.0.0.1 PORT=5000"),
                                         ({"HOST": "0.0.0.0"}, "HOST=0.0.0.0 PORT=5000")])
def test_make_run_passes_the_address_on(env, wanted):
    try:
        out = subprocess.run(["make", "-n", "-B", "run"], cwd=ROOT, capture_output=True, text=True, timeout=30,
                             env={"PATH": "/usr/bin:/bin", **env}).stdout
    except FileNotFoundError:
        pytest.fail("make is needed to run the project")
    assert f"{wanted} .venv/bin/python app.py" in out
