"""The source simulator: plays the ERP, the forwarder's API and the banks, deterministically from a seed.

The pipeline never imports this package: it talks to what the simulator serves (a PostgreSQL database shaped
like SAP, an HTTP API, statement files in an inbox). The ground truth of what was injected is written under
``<sim_dir>/ground_truth`` where the pipeline never reads.
"""
