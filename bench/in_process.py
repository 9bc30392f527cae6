"""The officer's pages kept and drawn each time, in one process, next to hello-world (median of medians, ms).

Run on a database `bench/server_load.py` filled (its province), with no server
and no load generator in between: what the app itself spends on each page.

    DATABASE_URL=postgresql+psycopg://… .venv/bin/python bench/in_process.py [--commune 101]
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]
os.environ.setdefault("SECRET_KEY", "bench-secret")


def median_ms(client, url: str, headers: dict, rounds: int = 5, each: int = 80) -> float:
    for _ in range(50):
        assert client.get(url, headers=headers).status_code == 200
    medians = []
    for _ in range(rounds):
        times = []
        for _ in range(each):
            start = time.perf_counter()
            client.get(url, headers=headers)
            times.append(time.perf_counter() - start)
        medians.append(statistics.median(times) * 1000)
    return statistics.median(medians)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commune", type=int, default=101)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    import hello
    from province import officer_phone
    from sqlalchemy import text

    from zaloan import create_app
    from zaloan.extensions import db

    app = create_app()
    phone = officer_phone(args.commune)
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"phone": phone, "password": "demo-1234", "csrf_token": token})
    with app.app_context():  # the officer's tip with the longest thread
        tip_id = db.session.execute(text(
            "SELECT t.id FROM tips t JOIN units u ON u.id = t.village_id JOIN users o ON o.id = u.officer_id "
            "WHERE o.phone = :p AND t.status = 'verifying' ORDER BY (SELECT count(*) FROM messages m "
            "WHERE m.tip_id = t.id) DESC, t.id LIMIT 1"), {"p": phone}).scalar()
    client.get(f"/officer/tips/{tip_id}")  # its first reading writes
    pages = {"queue": "/officer/", "tip page": f"/officer/tips/{tip_id}", "people list": "/people/"}
    print(f"hello-world {median_ms(hello.app.test_client(), '/', {}):.2f} ms")
    for mode, size in (("kept", 512), ("drawn each time", 0)):
        app.config["QUEUE_LISTS_KEPT"] = app.config["PAGE_PARTS_KEPT"] = size
        for name in [k for k in app.extensions if k.startswith("zaloan.kept.") and k != "zaloan.kept.person"]:
            app.extensions.pop(name)
        for page, url in pages.items():
            plain = median_ms(client, url, {})
            br = median_ms(client, url, {"Accept-Encoding": "br"})
            print(f"{page:12} {mode:16} {plain:6.2f} ms   with br {br:6.2f} ms")


if __name__ == "__main__":
    main()
