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

    schema = get_schema()                                  # loaded once per process (cached); thread-safe
    tree = schema.empty()                                  # <configuration/>
    tree = schema.parse(data, fmt)                         # fmt: "xml" | "text" | "set" | "json"
    result = schema.load(base, data, fmt="xml", action="merge", path=None, default_operation="merge")
    # action: "merge" | "replace" | "override" | "update" | "set"   (fmt "set" or action "set": set commands)
    # default_operation: NETCONF's <default-operation> for XML/text/JSON, "merge" or "none"
    # path: edit path for a relative load (text and set input only), e.g. "security ike gateway gw1"
    # -> LoadResult: result.tree is the new candidate (base is never modified); result.warnings is a
    # list[ConfigError] ("statement not found" for deleting something absent, like Junos).
    # Raises LoadError(errors) on syntax errors, unknown statements, bad values (types, ranges, patterns,
    # enums - checked by libyang), NETCONF data-exists/data-missing; then nothing is applied.
    errors = schema.validate(tree)                         # list[ConfigError]; [] when the commit may go on
    text = schema.render(tree, fmt, path=None, relative=False, junos_ns=None)
    # path: "security ike gateway ike_gw" or a list of words; "" when the path is not configured.
    # text: the contents at path ("show configuration security ike"); set: full "set ..." lines, or with
    # relative=True "| display set relative"; xml/json: a whole <configuration> keeping the ancestors;
    # junos_ns: the device's xmlns:junos for <junos:comment> in XML output. A path that does not fit the
    # schema raises LoadError ("syntax error").
    diff = schema.compare(old, new)                        # "show | compare" text; exactly "" when equal
    part = schema.select(tree, filter_element)             # <get-configuration> subtree filter -> new tree
    schema.modules                                         # list[YangModule(name, revision, namespace,
                                                           #   prefix, text)] for get-schema / monitoring
    schema.locate(tree, path)                              # (elements, schema node, ancestors) or None
    secret.encode9("lab-secret-123") -> "$9$..."           # Junos' reversible obfuscation, random salt
    secret.decode9("$9$...") -> "lab-secret-123"           # only the intent compiler (for iked) needs it

``data`` is ``str`` or ``bytes``; for "xml" it may also be an lxml Element (a ``<configuration>``, or a
document containing one such as NETCONF's ``<config>``; names and edit attributes are unqualified on the
way in). "set" input may hold ``set``, ``delete``, ``activate``, ``deactivate``, ``insert ... before|after``,
``rename ... to``, ``annotate``, ``edit``/``up``/``top`` lines, ``#`` comments and blank lines. Text input
takes ``replace:``, ``delete:``, ``inactive:``/``active:`` tags and ``/* annotations */``. XML (and JSON's
``"@"``) take ``operation`` (merge/replace/create/delete/remove), ``delete``, ``replace``, ``active``,
``inactive``, ``insert`` with ``name``/``key``/``value``, ``rename`` with ``name``.

``ConfigError`` (warnings too; also the items of ``LoadError.errors``) carries what Junos puts in an
``<rpc-error>``: ``message``, ``edit_path`` (words; ``error_path`` gives ``"[edit security ike gateway
ike_gw]"``), ``statement`` (the bad element: ``"ike-policy ike_policy"``, ``"unit 2"``, ``"system1"``),
``severity`` ("error" | "warning"), ``error_type``/``error_tag`` (NETCONF: invalid-value, missing-element,
data-exists, data-missing, ...), ``data_path`` (XPath-like, unqualified), ``line``/``column`` of the input
for load errors, ``rule`` (which YANG statement or named rule raised it), and ``cli_text()``::

    [edit security ike gateway ike_gw]
      'ike-policy ike_policy'
        Referenced IKE policy must be defined under [edit security ike policy]

Benchmarks that time libyang alone: ``validate.instance_document(schema, tree)`` -> (XML, context) and
``validate.parse_and_validate(context, xml)``.
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
