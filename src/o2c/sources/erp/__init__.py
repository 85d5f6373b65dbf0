"""The ERP source: SAP-shaped tables read incrementally by change timestamp."""
