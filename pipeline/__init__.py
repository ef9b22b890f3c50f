"""Rekrutt: recruitment video campaigns from a YAML spec, rendered for every channel.

The library never prints or exits; see ``cli.py`` for the command line.
"""

__version__ = "0.1.0"
