"""Build hook for the optional C fast path of the PFE (everything else is in pyproject.toml).

``netconf_device/pfe/_espfast.c`` is optional: without a C compiler or Python headers the build warns and
goes on, and the PFE runs its pure-Python fast path (``netconf_device/pfe/fastpath.py``).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "netconf_device.pfe._espfast",
            sources=["netconf_device/pfe/_espfast.c"],
            optional=True,
        )
    ]
)
