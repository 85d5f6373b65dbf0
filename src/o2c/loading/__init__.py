"""Landing: the one layer that writes source rows into the raw schemas (see ``land.py``)."""
