"""IKE exchanges as small tasks (DESIGN.md principle 2).

Each module holds one task: it builds its part of a request (``build_i``), processes the response
(``process_i``), and mirrors that as responder (``process_r`` / ``build_r``). Several tasks contribute to one
exchange: IKE_SA_INIT is ``IkeInit`` + ``IkeNatd`` + ``IkeCert``; IKE_AUTH is ``IkeAuth`` + ``IkeCert`` +
``ChildCreate``. Rekey collisions (RFC 7296 §2.8.1, §2.25) are decided in :mod:`.collisions` only.
"""
