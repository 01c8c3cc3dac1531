"""The Junos configuration schema: YANG modules, validation, the four Junos formats, load, compare.

Everything here derives from the YANG modules in ``yang/`` (DESIGN principle 6): pyang gives the structure
(containers, lists and keys, leaf-lists, presence, choices, types, defaults, order, display hints), libyang
(``oopt-gnpy-libyang``) validates instance data (types, ranges, patterns, mandatory, leafref, must/when).

A configuration is an lxml ``<configuration>`` Element in Junos XML exactly as Junos sends it: unqualified
element names, list entries carrying their key as ``<name>``, empty leaves as empty elements, leaf-lists as
repeated elements, children in schema order (list entries in user order), ``inactive="inactive"`` on
deactivated statements and ``<junos:comment>`` annotations (namespace ``JUNOS_NS``) before annotated
statements. Secrets (pre-shared keys, manual SA keys) are stored ``$9$``-encoded. Trees are never modified
in place by this package: every operation returns a new tree.

API (stable; ``config``, ``netconf`` and ``rpc`` code against it)::

    from netconf_device.schema import get_schema, LoadError, ConfigError, secret

    schema = get_schema()                                  # loaded once per process, cached, thread-safe
    tree = schema.empty()                                  # <configuration/>
    tree = schema.parse(data, fmt)                         # fmt: "xml" | "text" | "set" | "json"
    result = schema.load(base, data, fmt="xml", action="merge", path=None)
    # action: "merge" | "replace" | "override" | "update" | "set"   (fmt "set" implies action "set")
    # result.tree: the new candidate (base is untouched); result.warnings: list[ConfigError]
    # ("statement not found" for deleting something absent, like Junos). Raises LoadError(errors) on
    # syntax errors, unknown statements, bad values, NETCONF data-exists/data-missing: nothing is applied.
    errors = schema.validate(tree)                         # list[ConfigError], [] when the commit may go on
    text = schema.render(tree, fmt, path=None, relative=False)
    # path: edit path as a string ("security ike gateway ike_gw") or a token list; relative=True gives
    # "| display set relative" for fmt "set" (the other formats always print the sub-tree itself).
    diff = schema.compare(old, new)                        # "show | compare" text; "" when equal
    part = schema.select(tree, filter_element)             # <get-configuration> subtree filter
    schema.modules                                         # list[YangModule]: name, revision, namespace,
                                                           # prefix, text  (for get-schema / monitoring)
    secret.encode9("lab-secret-123") -> "$9$..."           # Junos' reversible obfuscation (random salt)
    secret.decode9("$9$...") -> "lab-secret-123"           # only the IKE daemon / intent compiler call it

``data`` is ``str`` or ``bytes``; for "xml" it may also be an lxml Element (a ``<configuration>``, with or
without a namespace: names are unqualified on the way in). "set" input may hold ``set``, ``delete``,
``activate``, ``deactivate``, ``insert``, ``rename``, ``annotate``, ``edit``/``up``/``top`` lines, ``#``
comments and blank lines.

``ConfigError`` (also the items of ``LoadError.errors``) carries what Junos puts in an ``<rpc-error>``:
``message``, ``edit_path`` (tokens; ``error_path`` gives ``"[edit security ike gateway ike_gw]"``),
``statement`` (the bad element, e.g. ``"ike-policy ike_policy"``), ``severity`` ("error" | "warning"),
``error_type``/``error_tag`` (NETCONF), ``data_path`` (XPath-like, unqualified), ``line``/``column`` for
load errors, and ``cli_text()`` for the CLI form::

    [edit security ike gateway ike_gw]
      'ike-policy ike_policy'
        Referenced IKE policy must be defined under [edit security ike policy]
"""

from __future__ import annotations

from netconf_device.schema import secret
from netconf_device.schema.api import FORMATS, LOAD_ACTIONS, LoadResult, Schema, YangModule, get_schema
from netconf_device.schema.errors import JUNOS_NS, ConfigError, LoadError

__all__ = [
    "FORMATS",
    "JUNOS_NS",
    "LOAD_ACTIONS",
    "ConfigError",
    "LoadError",
    "LoadResult",
    "Schema",
    "YangModule",
    "get_schema",
    "secret",
]
