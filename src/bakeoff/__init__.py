"""bakeoff: compare language models head to head, from measurements."""

__version__ = "0.1.0"
