"""The simulated banks: their books (:mod:`.ledger`, part of building the world), the daily statements they
derive (:mod:`.statements`), how each format renders them (:mod:`.mt940` for MT940/MT942, :mod:`.camt` for
camt.052/.053/.054) and the files they send (:mod:`.files`).

Import the modules themselves: this package imports nothing, so that building the world (which books the
ledger) does not import the renderers, which read the world.
"""
