"""Runtime settings, read from the environment (see ``.env.example``).

Every setting has a safe default for the single-machine embedded setup; none holds a secret.
Paths default to folders under ``O2C_HOME`` so that every ``o2c`` command finds the same warehouse
and inbox from any working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from o2c.business_calendar import BUSINESS_TZ

__all__ = ["BUSINESS_TZ", "PROJECT_ROOT", "SIM_ERP_DATABASE", "Settings", "load_settings"]

SIM_ERP_DATABASE = "o2c_erp_sim"
"""The simulated ERP's database on the warehouse server (used when ``O2C_ERP_URL`` is not set)."""

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The source checkout (holds ``dbt_project/``, ``dags/``, ``expectations/``)."""


def _default_home() -> Path:
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT / ".o2c"
    return Path.home() / ".local" / "share" / "o2c"


@dataclass(frozen=True)
class Settings:
    """All paths and endpoints o2c uses; build with :func:`load_settings`."""

    home: Path
    warehouse_url: str | None
    """An external PostgreSQL (``O2C_WAREHOUSE_URL``); ``None`` means the embedded warehouse."""
    warehouse_port: int
    erp_url: str | None
    erp_lookback_minutes: int
    """Overlap with the previous window when reading the ERP, for late commits (``O2C_ERP_LOOKBACK_MINUTES``)."""
    erp_timezone: str
    """The SAP system's time zone, in which change documents (CDHDR ``UDATE``/``UTIME``) are stamped."""
    erp_reconcile_cleared_days: int
    """How far back (by clearing date) cleared items (BSAD) are key-reconciled for clearing resets."""
    logistics_lookback_minutes: int
    logistics_api_url: str
    bank_inbox: Path
    quarantine_dir: Path
    outbox_dir: Path
    sim_dir: Path
    smtp_host: str | None
    smtp_port: int
    smtp_sender: str
    smtp_user: str | None
    smtp_password: str | None
    dbt_project_dir: Path
    expectations_dir: Path
    data_team_email: str | None = None
    """Where pipeline failures are e-mailed (``O2C_DATA_TEAM_EMAIL``; several addresses: comma-separated)."""
    finance_email: str | None = None
    """Where the finance team's digest (the rules finance owns: unapplied cash, bank statement breaks) is
    e-mailed (``O2C_FINANCE_EMAIL``; several addresses: comma-separated). Unset: the outbox only."""

    @property
    def embedded(self) -> bool:
        return self.warehouse_url is None


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: the process environment)."""
    e = os.environ if env is None else env
    home = Path(e.get("O2C_HOME") or _default_home()).expanduser().resolve()
    return Settings(
        home=home,
        warehouse_url=e.get("O2C_WAREHOUSE_URL") or None,
        warehouse_port=int(e.get("O2C_WAREHOUSE_PORT") or 55432),
        erp_url=e.get("O2C_ERP_URL") or None,
        erp_lookback_minutes=int(e.get("O2C_ERP_LOOKBACK_MINUTES") or 60),
        erp_timezone=e.get("O2C_ERP_TIMEZONE") or "Asia/Shanghai",
        erp_reconcile_cleared_days=int(e.get("O2C_ERP_RECONCILE_CLEARED_DAYS") or 92),
        logistics_lookback_minutes=int(e.get("O2C_LOGISTICS_LOOKBACK_MINUTES") or 60),
        logistics_api_url=e.get("O2C_LOGISTICS_API_URL") or "http://127.0.0.1:8765",
        bank_inbox=Path(e.get("O2C_BANK_INBOX") or home / "inbox" / "bank"),
        quarantine_dir=Path(e.get("O2C_QUARANTINE_DIR") or home / "quarantine"),
        outbox_dir=Path(e.get("O2C_ALERT_OUTBOX") or home / "outbox"),
        sim_dir=Path(e.get("O2C_SIM_DIR") or home / "sim"),
        smtp_host=e.get("O2C_SMTP_HOST") or None,
        smtp_port=int(e.get("O2C_SMTP_PORT") or 25),
        smtp_sender=e.get("O2C_SMTP_SENDER") or "o2c-alerts@localhost",
        smtp_user=e.get("O2C_SMTP_USER") or None,
        smtp_password=e.get("O2C_SMTP_PASSWORD") or None,
        dbt_project_dir=Path(e.get("O2C_DBT_PROJECT_DIR") or PROJECT_ROOT / "dbt_project"),
        expectations_dir=Path(e.get("O2C_EXPECTATIONS_DIR") or PROJECT_ROOT / "expectations"),
        data_team_email=e.get("O2C_DATA_TEAM_EMAIL") or None,
        finance_email=e.get("O2C_FINANCE_EMAIL") or None,
    )
