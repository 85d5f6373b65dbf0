"""The logistics source: the forwarder's REST/JSON API."""
