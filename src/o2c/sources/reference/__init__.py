"""Reference data o2c derives from maintained libraries rather than from a business system."""
