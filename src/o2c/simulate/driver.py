"""Drive the simulation: initialise a scenario, advance its clock, serve its logistics API.

State lives in ``<sim_dir>``: ``scenario.json`` (seed and range), ``clock.json`` (the simulated now), the
bank-file delivery registry, and ``ground_truth/`` which only tests and the demo's scorecard read:

- ``cases.csv``: the injected abnormal cases (rule, entity, reference date, last date expected);
- ``payments.csv``: every customer payment, with the invoice it pays (``invoice_id``: the one invoice it
  pays in full; blank for a partial, residual or combined payment), its kind, every billing document and
  customer item it cleared, its clearing document and, for a partial payment, the residual item it left;
  its cases, payer, charges, FX and bank reference (``Payment``; its applications are in the next files);
- ``bank_payments.csv``: every bank transaction that is a customer receipt, a return or a refund (account,
  booking date, bank reference and place in a batch, amount, cases, payer, references, clearing, charges,
  FX, return reason, the statement file carrying it); ``cash_applications.csv``: every application cash
  application should make (bank reference, item, applied and residual amount, reason);
  ``payment_difference_items.csv``: residual, dispute and on-account items payments posted, and how each was
  settled (DECISIONLOG "Customer receipts and cash application (simulator)");
- ``bank_files.csv``: every bank file, its kind (normal, intraday, notification, corrupt, resend,
  duplicate, missing), account, message, statement number and when it became available;
- ``invoices.csv``: every billing document (invoice, provisional invoice, debit and credit memo,
  cancellation) with its order lines, amount, payment terms, baseline and net due date, customer items,
  the document it refers to and the cancellation that cancelled it;
- ``formula_pricing.csv``: every formula-priced delivery: B/L date, quotational period, provisional and
  final price, the difference and the memo that billed it;
- ``contracts.csv``: every contract, its lifting plan kind, the first date it is under-lifting (blank:
  never, up to the last simulated day), how many days, its largest gap in % of the threshold, the
  quantity called off by the end and the contract it renews; ``contract_under_lifting.csv``: every period
  (first and last date) a contract is under-lifting (DECISIONLOG "Contracts and lifting");
- ``order_lines.csv``: every order line the business entered (mistaken copies, deleted later, excluded):
  call-off, late call-off (entered after its contract expired) or spot; ``late_call_offs.csv`` the late
  ones with their days after expiry;
- ``master_data_changes.csv``: credit limit, owner rep and payment term changes with their dates;
- ``write_offs.csv``: customer items never paid and written off (cleared without a payment) a year after
  their net due date, with the clearing document;
- ``summary.json``: counts.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple
from dataclasses import fields as dataclass_fields
from datetime import date, datetime
from pathlib import Path

from o2c.business_calendar import cutoff_for
from o2c.config import SIM_ERP_DATABASE, Settings
from o2c.simulate.bank.files import bank_files, drop_files
from o2c.simulate.model import Payment, WriteOff
from o2c.simulate.receipt_truth import (
    BANK_FILE_COLUMNS,
    BANK_PAYMENT_COLUMNS,
    CASH_APPLICATION_COLUMNS,
    DIFFERENCE_ITEM_COLUMNS,
    bank_file_rows,
    bank_payment_rows,
    cash_application_rows,
    difference_item_rows,
)
from o2c.simulate.world import SimConfig, World, build_world


class Simulation:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = settings.sim_dir
        self.scenario_file = self.dir / "scenario.json"
        self.clock_file = self.dir / "clock.json"
        self._world: World | None = None
        self._api_process: subprocess.Popen[bytes] | None = None

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
        from o2c.simulate.catalog import BILLING_CATEGORIES

        def _cell(value: object) -> object:
            """A CSV cell: a tuple as its items joined by spaces, ``None`` as blank, a moment in ISO 8601."""
            if isinstance(value, tuple):
                return " ".join(str(v) for v in value)
            if isinstance(value, datetime):
                return value.isoformat()
            return "" if value is None else value

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
            fields = [f.name for f in dataclass_fields(Payment) if f.name != "applications"]
            writer.writerow(fields)
            for payment in world.payments:
                writer.writerow([_cell(getattr(payment, f)) for f in fields])
        files = bank_files(world)
        _write_csv(out / "bank_payments.csv", BANK_PAYMENT_COLUMNS, bank_payment_rows(world, files))
        _write_csv(out / "cash_applications.csv", CASH_APPLICATION_COLUMNS, cash_application_rows(world))
        _write_csv(out / "payment_difference_items.csv", DIFFERENCE_ITEM_COLUMNS, difference_item_rows(world))
        _write_csv(
            out / "invoices.csv",
            [
                "invoice_id",
                "billing_type",
                "billing_category",
                "document_category",
                "customer_id",
                "order_line_ids",
                "delivery_id",
                "invoice_date",
                "amount",
                "currency",
                "terms",
                "baseline",
                "net_due_date",
                "customer_items",
                "reason",
                "references",
                "cancelled_by",
                "cancelled_on",
            ],
            (
                [
                    i.invoice_id,
                    i.billing_type,
                    BILLING_CATEGORIES.get(i.billing_type, "invoice"),
                    i.document_category,
                    i.customer_id,
                    _cell(i.order_line_ids),
                    i.delivery_id or "",
                    i.invoice_date.isoformat(),
                    i.amount,
                    i.currency,
                    i.terms,
                    _iso(i.baseline),
                    _iso(i.net_due_date),
                    _cell(i.customer_items),
                    i.reason,
                    i.references or "",
                    i.cancelled_by or "",
                    _iso(i.cancelled_on),
                ]
                for i in world.invoices
            ),
        )
        _write_csv(
            out / "formula_pricing.csv",
            [
                "order_line_id",
                "delivery_id",
                "provisional_invoice_id",
                "bl_date",
                "qp_rule",
                "qp_from",
                "qp_to",
                "qty",
                "currency",
                "premium_pct",
                "provisional_price",
                "final_price",
                "settled_on",
                "difference",
                "memo_id",
                "memo_type",
            ],
            (
                [
                    f.order_line_id,
                    f.delivery_id,
                    f.provisional_invoice_id,
                    f.bl_date.isoformat(),
                    f.qp_rule,
                    f.qp_from.isoformat(),
                    f.qp_to.isoformat(),
                    f.qty,
                    f.currency,
                    f.premium_pct,
                    f.provisional_price,
                    _cell(f.final_price),
                    _iso(f.settled_on),
                    _cell(f.difference),
                    f.memo_id or "",
                    f.memo_type or "",
                ]
                for f in world.formula_pricing
            ),
        )
        _write_csv(  # every field of WriteOff, in order (dates as ISO dates)
            out / "write_offs.csv",
            [f.name for f in dataclass_fields(WriteOff)],
            (list(astuple(w)) for w in world.write_offs),
        )
        _write_csv(out / "bank_files.csv", BANK_FILE_COLUMNS, bank_file_rows(files))
        _write_csv(
            out / "contracts.csv",
            [
                "contract_id",
                "customer_id",
                "material_id",
                "plant_id",
                "valid_from",
                "valid_to",
                "contract_qty",
                "tolerance_pct",
                "plan_kind",
                "first_under_lifting_date",
                "under_lifting_days",
                "max_gap_pct_of_threshold",
                "called_off_qty_at_end",
                "predecessor_id",
            ],
            (
                [
                    c.contract_id,
                    c.customer_id,
                    c.material_id,
                    c.plant_id,
                    c.valid_from.isoformat(),
                    c.valid_to.isoformat(),
                    c.contract_qty,
                    c.tolerance_pct,
                    c.plan_kind,
                    _iso(c.first_under_lifting_date),
                    sum((last - first).days + 1 for first, last in c.under_lifting),
                    "" if c.max_gap_pct_of_threshold is None else c.max_gap_pct_of_threshold,
                    c.called_off_qty_at_end,
                    c.predecessor_id or "",
                ]
                for c in world.contracts
            ),
        )
        _write_csv(
            out / "contract_under_lifting.csv",
            ["contract_id", "from_date", "to_date"],
            (
                [c.contract_id, first.isoformat(), last.isoformat()]
                for c in world.contracts
                for first, last in c.under_lifting
            ),
        )
        _write_csv(
            out / "order_lines.csv",
            [
                "order_line_id",
                "order_id",
                "customer_id",
                "material_id",
                "created_date",
                "kind",
                "contract_id",
                "after_contract_expiry",
                "initial_qty",
            ],
            (
                [
                    line.order_line_id,
                    line.order_id,
                    line.customer_id,
                    line.material_id,
                    line.created_date.isoformat(),
                    line.kind,
                    line.contract_id or "",
                    "true" if line.days_after_expiry is not None else "false",
                    line.initial_qty,
                ]
                for line in world.order_line_truth
            ),
        )
        _write_csv(
            out / "late_call_offs.csv",
            [
                "order_line_id",
                "order_id",
                "contract_id",
                "customer_id",
                "created_date",
                "contract_valid_to",
                "days_after_expiry",
            ],
            (
                [
                    line.order_line_id,
                    line.order_id,
                    line.contract_id,
                    line.customer_id,
                    line.created_date.isoformat(),
                    _iso(line.contract_valid_to),
                    line.days_after_expiry,
                ]
                for line in world.order_line_truth
                if line.days_after_expiry is not None
            ),
        )
        _write_csv(
            out / "master_data_changes.csv",
            [
                "customer_id",
                "field",
                "old_value",
                "new_value",
                "effective_date",
                "sap_table",
                "sap_field",
                "changed_at",
            ],
            (
                [
                    m.customer_id,
                    m.field,
                    m.old_value,
                    m.new_value,
                    m.effective_date.isoformat(),
                    m.sap_table,
                    m.sap_field,
                    m.changed_at.isoformat(),
                ]
                for m in world.master_data_changes
            ),
        )
        summary = {
            "order_lines": world.order_line_count,
            "customers": len(world.erp["KNA1"]),
            "products": len(world.erp["MARA"]),
            "sales_reps": len(world.reps),
            "payments": len(world.payments),
            "cases": len(world.cases),
            "contracts": len(world.contracts),
            "under_lifting_contracts": sum(1 for c in world.contracts if c.first_under_lifting_date),
            "late_call_offs": sum(1 for line in world.order_line_truth if line.kind == "late_call_off"),
            "spot_order_lines": sum(1 for line in world.order_line_truth if line.kind == "spot"),
            "master_data_changes": len(world.master_data_changes),
            "billing_documents": len(world.invoices),
            "cancelled_invoices": sum(1 for i in world.invoices if i.cancelled_by),
            "formula_priced_deliveries": len(world.formula_pricing),
            "final_price_memos": sum(1 for f in world.formula_pricing if f.memo_id),
            "combined_payments": sum(1 for p in world.payments if p.kind == "combined"),
            "partial_payments": sum(1 for p in world.payments if p.kind == "partial"),
            "receipt_cases": dict(
                sorted(
                    Counter(
                        case
                        for p in world.payments
                        if world.config.start <= p.booking_date <= world.config.end
                        for case in p.cases
                    ).items()
                )
            ),
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
            counts = materialize(conn, self.world, cutoff, self.fingerprint())
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

    def fingerprint(self) -> str:
        """The scenario and the code that builds its world: equal fingerprints mean the same world, so the
        ERP database can move from one cutoff to another by the rows that changed in between."""
        digest = hashlib.sha256(self.scenario_file.read_bytes())
        package = Path(__file__).resolve().parents[1]
        for source in sorted(package.rglob("*.py")):
            digest.update(source.relative_to(package).as_posix().encode())
            digest.update(source.read_bytes())
        return digest.hexdigest()

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
        """Start the logistics API in a background process (idempotent). It builds its world before it
        listens: a minute or more for three years of business (see :meth:`wait_api`)."""
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
        self._api_process = process
        self.wait_api()

    def wait_api(self, timeout: float | None = None) -> None:
        """Wait until the API answers; an error if its process exits or it takes longer than ``timeout``
        (default: two minutes plus a second per simulated day, the time to build the world on a busy
        machine)."""
        limit = timeout if timeout is not None else 120 + self.config().days
        deadline = time.monotonic() + limit
        process = self._api_process
        while not self.api_running():
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the logistics API exited; see {self.dir / 'logistics_api.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the logistics API did not come up within {limit:.0f} s")
            time.sleep(0.2)

    def serve_api_in_thread(self) -> Callable[[], None] | None:
        """Serve the logistics API from this process's world, in a thread, unless this simulation's API
        already answers (``start-api``). Returns the function that stops it (``None`` if it was served
        already). The demo does this: it has built the world already, and a second process would build it
        again while the bank files land."""
        if self.api_running():
            return None
        if not self.clock_file.exists():
            raise RuntimeError("the simulation clock is not set: run `o2c simulate advance` first")
        from o2c.simulate.logistics_api import LogisticsAPI, make_server

        server = make_server(LogisticsAPI(self.world, self.clock_file), self.api_port())
        thread = threading.Thread(target=server.serve_forever, name="logistics-api", daemon=True)
        thread.start()

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join()

        return stop

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


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _write_csv(path: Path, header: list[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def erp_url(settings: Settings) -> str:
    """The simulated ERP's database: ``O2C_ERP_URL``, else :data:`SIM_ERP_DATABASE` on the warehouse server."""
    if settings.erp_url:
        return settings.erp_url
    from o2c.warehouse.db import warehouse_url, with_database

    return with_database(warehouse_url(settings), SIM_ERP_DATABASE)
