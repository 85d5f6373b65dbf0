"""o2c — an order-to-cash data platform for commodity trading companies.

The package holds everything that is not SQL: source simulators, extractors and parsers, landing,
the embedded warehouse, checks, alerts and the ``o2c`` command. It imports no Airflow at module level
so that it is testable without a scheduler.
"""

__version__ = "0.1.0"
