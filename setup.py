# Metadata, dependencies and tool settings live in setup.cfg; this shim lets older pip do editable installs.
from setuptools import setup

setup()
