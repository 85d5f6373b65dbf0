"""Generate a commodity trader's business deterministically: master data, contracts, orders, deliveries,
invoices, payments, shipments, and the abnormal cases injected into them.

Everything is a *timeline*: each ERP row has versions stamped with the moment they were written, so the
simulator can serve the ERP exactly as it stood at any cutoff, with later changes to old rows (quantity
changes, rejections, goods issue, clearing) appearing as they would in a real system.
"""

from __future__ import annotations

from o2c.simulate.bank.ledger import BankLedger
from o2c.simulate.bank_noise import BankNoise
from o2c.simulate.catalog import (
    PAYMENT_TERMS,
    RULE_AR_OVERDUE,
    RULE_ORDER_OVERDUE,
    RULE_PRICE_BAND,
    RULE_QTY_TOLERANCE,
    TERMS,
    Row,
    at,
    dats,
    money,
)
from o2c.simulate.corrections import Corrections
from o2c.simulate.lifting import ContractTerms, contract_truth
from o2c.simulate.master import MasterData
from o2c.simulate.model import (
    BankDebit,
    Case,
    ContractTruth,
    FormulaPricing,
    InvoiceTruth,
    MasterDataChange,
    OrderLineTruth,
    Payment,
    Shipment,
    SimConfig,
    World,
)
from o2c.simulate.orders import Orders

__all__ = [
    "PAYMENT_TERMS",
    "RULE_AR_OVERDUE",
    "RULE_ORDER_OVERDUE",
    "RULE_PRICE_BAND",
    "RULE_QTY_TOLERANCE",
    "TERMS",
    "BankDebit",
    "Case",
    "ContractTruth",
    "FormulaPricing",
    "InvoiceTruth",
    "MasterDataChange",
    "OrderLineTruth",
    "Payment",
    "Row",
    "Shipment",
    "SimConfig",
    "World",
    "at",
    "build_world",
    "dats",
    "money",
]


class _Builder(MasterData, Orders, BankNoise, Corrections, BankLedger):
    """Every stage of the business, run in order by :func:`build_world` (``Orders`` includes the
    contracts it calls off)."""

    def build_contract_truth(self) -> list[ContractTruth]:
        """The contracts' ground truth, from the ERP rows as written (corrections included)."""
        return contract_truth(
            (
                ContractTerms(
                    c.vbeln,
                    c.customer["KUNNR"],
                    c.product["MATNR"],
                    c.plant,
                    c.valid_from,
                    c.valid_to,
                    c.qty,
                    c.tol,
                    c.kind,
                    c.predecessor,
                )
                for c in self.contract_book
            ),
            self.erp["VBAP"],
            self.commit_times,
            self.cfg.end,
        )


def build_world(cfg: SimConfig | None = None) -> World:
    """The whole simulated business, deterministic for ``cfg.seed``."""
    config = cfg or SimConfig()
    builder = _Builder(config)
    builder.build_master()
    builder.assign_trade_terms()
    builder.assign_customer_groups()
    builder.build_master_changes()
    builder.build_contracts()
    builder.build_orders()
    builder.build_payments()
    builder.build_write_offs()
    builder.build_bank_debits()
    builder.build_corrections()
    builder.book_bank_entries()
    return World(
        config=config,
        erp=builder.erp,
        shipments=builder.shipments,
        payments=builder.payments,
        debits=builder.debits,
        cases=builder.cases,
        reps=builder.reps,
        order_line_count=builder.order_lines,
        commit_times=builder.commit_times,
        deleted_orders=builder.deleted_orders,
        reset_items=builder.reset_items,
        late_commits=builder.late_commits,
        credit_memos=builder.credit_memos,
        contracts=builder.build_contract_truth(),
        order_line_truth=builder.order_line_truth,
        master_data_changes=builder.master_data_changes,
        invoices=builder.invoice_truth,
        write_offs=builder.write_offs,
        formula_pricing=builder.formula_pricing,
        bank_entries=builder.bank_entries,
        difference_items=builder.difference_items,
        customer_groups=builder.customer_groups,
    )
