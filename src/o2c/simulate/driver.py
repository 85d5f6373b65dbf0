"""Drive the simulation: initialise a scenario, advance its clock, serve its logistics API.

State lives in ``<sim_dir>``: ``scenario.json`` (seed and range), ``clock.json`` (the simulated now), the
bank-file delivery registry, and ``ground_truth/`` which only tests and the demo's scorecard read.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict
from datetime import date
from pathlib import Path

from o2c.business_calendar import cutoff_for
from o2c.config import SIM_ERP_DATABASE, Settings
from o2c.simulate.bank_files import bank_files, drop_files
from o2c.simulate.world import SimConfig, World, build_world


class Simulation:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = settings.sim_dir
        self.scenario_file = self.dir / "scenario.json"
        self.clock_file = self.dir / "clock.json"
        self._world: World | None = None

    # -- scenario -------------------------------------------------------------------------------
    def init(
        self,
        seed: int = 42,
        start: date | None = None,
        days: int = 120,
        customers: int = 120,
        lines_per_day: float | None = None,
    ) -> SimConfig:
        defaults = SimConfig()
        cfg = SimConfig(
            seed=seed,
            start=start or defaults.start,
            days=days,
            customers=customers,
            lines_per_day=lines_per_day or defaults.lines_per_day,
            bad_bank_file_day=min(40, days // 2) if days > 16 else None,
        )
        self.dir.mkdir(parents=True, exist_ok=True)
        scenario = {
            "seed": cfg.seed,
            "start": cfg.start.isoformat(),
            "days": cfg.days,
            "customers": cfg.customers,
            "lines_per_day": cfg.lines_per_day,
            "bad_bank_file_day": cfg.bad_bank_file_day,
        }
        if self.scenario_file.exists() and json.loads(self.scenario_file.read_text()) != scenario:
            raise RuntimeError(
                f"a different scenario is already set up in {self.dir}; remove it to start over"
            )
        self.scenario_file.write_text(json.dumps(scenario, indent=2))
        self._world = None
        self.write_ground_truth()
        return cfg

    def config(self) -> SimConfig:
        if not self.scenario_file.exists():
            raise RuntimeError(f"no simulation set up in {self.dir}: run `o2c simulate init` first")
        s = json.loads(self.scenario_file.read_text())
        return SimConfig(
            seed=s["seed"],
            start=date.fromisoformat(s["start"]),
            days=s["days"],
            customers=s["customers"],
            lines_per_day=s["lines_per_day"],
            bad_bank_file_day=s["bad_bank_file_day"],
        )

    @property
    def world(self) -> World:
        if self._world is None:
            self._world = build_world(self.config())
        return self._world

    # -- ground truth -----------------------------------------------------------------------------
    def write_ground_truth(self) -> None:
        out = self.dir / "ground_truth"
        out.mkdir(parents=True, exist_ok=True)
        world = self.world
        with (out / "cases.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["rule_id", "entity_key", "order_id", "customer_id", "reference_date", "until", "note"]
            )
            for case in world.cases:
                writer.writerow(
                    [
                        case.rule_id,
                        case.entity_key,
                        case.order_id,
                        case.customer_id,
                        case.reference_date.isoformat(),
                        case.until.isoformat() if case.until else "",
                        case.note,
                    ]
                )
        with (out / "payments.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            fields = list(asdict(world.payments[0])) if world.payments else []
            writer.writerow(fields)
            for payment in world.payments:
                writer.writerow([getattr(payment, f) for f in fields])
        with (out / "bank_files.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file_name", "day", "kind"])
            for bank_file in bank_files(world):
                writer.writerow([bank_file.name, bank_file.day.isoformat(), bank_file.kind])
        summary = {
            "order_lines": world.order_line_count,
            "customers": len(world.erp["KNA1"]),
            "products": len(world.erp["MARA"]),
            "sales_reps": len(world.reps),
            "payments": len(world.payments),
            "cases": len(world.cases),
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2))

    # -- clock ------------------------------------------------------------------------------------
    def advance(self, business_date: date) -> dict[str, object]:
        """Close ``business_date``: the ERP, the API and the bank inbox show everything up to it."""
        import psycopg

        from o2c.simulate.erp import materialize
        from o2c.warehouse.db import ensure_database

        cfg = self.config()
        if not cfg.start <= business_date <= cfg.end:
            raise ValueError(f"{business_date} is outside the simulated range {cfg.start}..{cfg.end}")
        cutoff = cutoff_for(business_date)
        url = erp_url(self.settings)
        ensure_database(url)
        with psycopg.connect(url) as conn:
            counts = materialize(conn, self.world, cutoff)
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"now": cutoff.isoformat(), "business_date": business_date.isoformat()}))
        tmp.replace(self.clock_file)
        dropped = drop_files(
            self.world, self.settings.bank_inbox, self.dir / "bank_delivered.txt", business_date
        )
        return {
            "business_date": business_date.isoformat(),
            "cutoff": cutoff.isoformat(),
            "erp_rows": sum(counts.values()),
            "bank_files_dropped": len(dropped),
        }

    # -- logistics API process ----------------------------------------------------------------------
    @property
    def api_pid_file(self) -> Path:
        return self.dir / "logistics_api.pid"

    def api_port(self) -> int:
        from urllib.parse import urlsplit

        return urlsplit(self.settings.logistics_api_url).port or 80

    def api_running(self) -> bool:
        """True if this simulation's API answers; an error if another simulation holds the port."""
        try:
            with urllib.request.urlopen(self.settings.logistics_api_url + "/healthz", timeout=2) as response:  # noqa: S310
                body = json.loads(response.read())
        except (OSError, ValueError):
            return False
        if body.get("simulation") != str(self.dir.resolve()):
            raise RuntimeError(
                f"{self.settings.logistics_api_url} is served by another simulation "
                f"({body.get('simulation')}); stop it or set O2C_LOGISTICS_API_URL to another port"
            )
        return True

    def start_api(self) -> None:
        """Start the logistics API in the background (idempotent)."""
        if self.api_running():
            return
        log = (self.dir / "logistics_api.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "o2c.cli", "simulate", "serve-logistics"],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={
                **os.environ,
                "O2C_HOME": str(self.settings.home),
                "O2C_SIM_DIR": str(self.dir),
                "O2C_LOGISTICS_API_URL": self.settings.logistics_api_url,
            },
        )
        self.api_pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + 60
        while not self.api_running():
            if process.poll() is not None:
                raise RuntimeError(f"the logistics API exited; see {self.dir / 'logistics_api.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError("the logistics API did not come up within 60 s")
            time.sleep(0.2)

    def stop_api(self) -> bool:
        if not self.api_pid_file.exists():
            return False
        pid = int(self.api_pid_file.read_text())
        self.api_pid_file.unlink()
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        return True

    def serve_api(self) -> None:
        from o2c.simulate.logistics_api import LogisticsAPI, make_server

        if not self.clock_file.exists():
            raise RuntimeError("the simulation clock is not set: run `o2c simulate advance` first")
        server = make_server(LogisticsAPI(self.world, self.clock_file), self.api_port())
        server.serve_forever()


def erp_url(settings: Settings) -> str:
    """The simulated ERP's database: ``O2C_ERP_URL``, else :data:`SIM_ERP_DATABASE` on the warehouse server."""
    if settings.erp_url:
        return settings.erp_url
    from o2c.warehouse.db import warehouse_url, with_database

    return with_database(warehouse_url(settings), SIM_ERP_DATABASE)
